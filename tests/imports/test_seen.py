"""SeenKeys: duplicate keys of a file, remembered on disk with Bloom filters in memory."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from data_exchange_tool.imports import seen
from data_exchange_tool.imports.seen import BloomFilter, SeenKeys, key_text


@pytest.fixture
def keys():
    store = SeenKeys()
    yield store
    store.close()


def test_new_keys_have_no_earlier_row(keys):
    assert keys.check_and_add("lookup", [((1, "a"), 2), ((1, "b"), 3)]) == [None, None]


def test_a_key_repeated_in_the_batch_names_its_first_row(keys):
    result = keys.check_and_add("lookup", [(("a",), 2), (("b",), 3), (("a",), 4), (("a",), 5)])
    assert result == [None, None, 2, 2]


def test_a_key_repeated_in_a_later_batch_names_its_first_row(keys):
    keys.check_and_add("lookup", [(("a",), 2), (("b",), 3)])
    keys.check_and_add("lookup", [(("c",), 4)])
    assert keys.check_and_add("lookup", [(("b",), 5), (("a",), 6), (("d",), 7)]) == [3, 2, None]
    assert keys.check_and_add("lookup", [(("d",), 8), (("b",), 9)]) == [7, 3]


def test_namespaces_are_separate(keys):
    keys.check_and_add("lookup", [(("a",), 2)])
    assert keys.check_and_add("unique:sku", [(("a",), 3)]) == [None]
    assert keys.check_and_add("unique:sku", [(("a",), 4)]) == [3]
    assert keys.check_and_add("lookup", [(("a",), 5)]) == [2]


@pytest.mark.parametrize(
    "key",
    [
        ("tab\there",),
        ("new\nline",),
        ("quote'\"",),
        ("back\\slash\\t",),
        ("é ünïcödé \U0001f600",),
        (Decimal("1.50"), 3),
        (None, ""),
    ],
)
def test_keys_with_awkward_text_are_found_exactly(keys, key):
    keys.check_and_add("lookup", [(("other",), 1)])
    keys.check_and_add("lookup", [(key, 2)])
    assert keys.check_and_add("lookup", [(key, 3), (("other",), 4)]) == [2, 1]


def test_keys_that_look_alike_are_not_confused(keys):
    keys.check_and_add("lookup", [((1, "a"), 2), (("1", "a"), 3), ((1, "a\tb"), 4)])
    assert keys.check_and_add("lookup", [((1, "a\t"), 5), ((1, "a"), 6), (("1", "a"), 7)]) == [
        None,
        2,
        3,
    ]


def test_a_custom_repr_with_separators_is_kept_whole(keys):
    class Odd:
        def __init__(self, text):
            self.text = text

        def __repr__(self):
            return self.text

    keys.check_and_add("lookup", [((Odd("x\t1\ny"),), 2)])
    assert keys.check_and_add("lookup", [((Odd("x\t1\ny"),), 3), ((Odd("x"),), 4)]) == [2, None]
    assert "\n" not in key_text(Odd("a\nb"))
    assert "\t" not in key_text(Odd("a\tb"))


def test_many_keys_match_a_dict(keys, monkeypatch):
    """Small filters fill up (more filters start) and give false positives: still exact."""
    monkeypatch.setattr(seen, "FIRST_FILTER_BITS", 1 << 10)
    monkeypatch.setattr(seen, "KEYS_PER_ROW", 3)
    rng = random.Random(7)
    first: dict[tuple, int] = {}
    row = 1
    for _ in range(40):
        items = []
        for _ in range(250):
            row += 1
            items.append(((rng.randrange(6000), "k"), row))
        expected = []
        for key, row_number in items:
            expected.append(first.get(key))
            first.setdefault(key, row_number)
        assert keys.check_and_add("lookup", items) == expected
    assert len(keys.namespaces["lookup"].filters) > 1


def test_bloom_filter_never_forgets_and_rarely_imagines():
    bloom = BloomFilter(1 << 16)
    added = {f"key {i}": hash(f"key {i}") for i in range(3000)}
    assert any(h < 0 for h in added.values()), "negative hashes are taken as they are"
    assert len(bloom.check_and_add(added)) < 30
    assert bloom.might_contain(added) == set(added)
    assert bloom.check_and_add(added) == set(added)
    others = {f"other {i}": hash(f"other {i}") for i in range(3000)}
    assert len(bloom.might_contain(others)) < 150  # about 1.5% expected at 22 bits a key
