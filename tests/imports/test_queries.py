"""filter_in: ``IN`` filters, as ``= ANY(array)`` on PostgreSQL and ``__in`` elsewhere."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from data_exchange_tool.imports.queries import filter_in, filter_keys
from example_project.demo.models import Partner, Product, StockRecord

pytestmark = pytest.mark.django_db


def test_filters_on_text_values(catalogue):
    found = filter_in(Product.objects.all(), {"sku": {"P-1", "P-3", "P-9"}})
    assert sorted(found.values_list("sku", flat=True)) == ["P-1", "P-3"]


def test_filters_on_pks_and_foreign_keys(catalogue):
    acme, globex = catalogue["partners"]
    product = catalogue["products"][0]
    StockRecord.objects.create(partner=acme, product=product, partner_sku="A")
    StockRecord.objects.create(partner=globex, product=product, partner_sku="A")
    StockRecord.objects.create(partner=globex, product=product, partner_sku="B")
    found = filter_in(StockRecord.objects.all(), {"partner": [globex.pk], "partner_sku": ["A"]})
    assert [(r.partner.name, r.partner_sku) for r in found] == [("Globex", "A")]
    assert filter_in(Partner.objects.all(), {"pk": [acme.pk]}).get() == acme


def test_no_values_find_nothing(catalogue):
    assert not filter_in(Product.objects.all(), {"sku": []}).exists()


def test_the_sql_has_one_parameter_per_field_on_postgresql(catalogue):
    queryset = filter_in(Product.objects.all(), {"sku": [f"P-{i}" for i in range(500)]})
    sql, params = queryset.query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql
        assert len(params) == 1
    else:
        assert " IN (" in sql
        assert len(params) == 500
    assert queryset.count() == 3


def test_filter_keys_matches_pairs(catalogue):
    acme, globex = catalogue["partners"]
    product = catalogue["products"][0]
    for partner, sku in ((acme, "A"), (acme, "B"), (globex, "A"), (globex, "B")):
        StockRecord.objects.create(partner=partner, product=product, partner_sku=sku)
    wanted = {(acme.pk, "A"), (globex.pk, "B")}
    found = filter_keys(StockRecord.objects.all(), ["partner", "partner_sku"], wanted)
    pairs = {(r.partner_id, r.partner_sku) for r in found}
    if connection.vendor == "postgresql":
        assert pairs == wanted
        assert "unnest(" in str(found.query)
    else:  # each field filtered on its own: more rows, matched to the keys by the caller
        assert wanted <= pairs


def test_filter_keys_on_one_field_and_no_keys(catalogue):
    found = filter_keys(Product.objects.all(), ["sku"], {("P-2",), ("P-7",)})
    assert list(found.values_list("sku", flat=True)) == ["P-2"]
    assert not filter_keys(StockRecord.objects.all(), ["partner", "partner_sku"], set()).exists()


AWKWARD_TEXTS = ['say "hi"', "back\\slash", "comma, brace}{", "NULL", "", " ", "ünï €", "'quote'"]


def test_awkward_texts_are_matched_exactly(catalogue):
    Product.objects.bulk_create(Product(sku=text, title=text) for text in AWKWARD_TEXTS)
    found = filter_in(Product.objects.all(), {"sku": [*AWKWARD_TEXTS, "P-1", "nope"]})
    assert sorted(found.values_list("sku", flat=True)) == sorted([*AWKWARD_TEXTS, "P-1"])
    acme = catalogue["partners"][0]
    product = catalogue["products"][0]
    StockRecord.objects.bulk_create(
        StockRecord(partner=acme, product=product, partner_sku=text) for text in AWKWARD_TEXTS
    )
    keys = {(acme.pk, text) for text in AWKWARD_TEXTS} | {(acme.pk, "absent")}
    found = filter_keys(StockRecord.objects.all(), ["partner", "partner_sku"], keys)
    assert sorted(found.values_list("partner_sku", flat=True)) == sorted(AWKWARD_TEXTS)


def test_a_value_longer_than_the_column_is_not_cut_to_match(catalogue):
    Partner.objects.create(name="X" * 128)  # the column's full length
    longer = "X" * 150
    assert not filter_in(Partner.objects.all(), {"name": [longer]}).exists()


def test_other_types_go_as_lists(catalogue):
    acme = catalogue["partners"][0]
    product = catalogue["products"][0]
    StockRecord.objects.create(partner=acme, product=product, partner_sku="D", price="1.50")
    found = filter_in(StockRecord.objects.all(), {"price": [Decimal("1.5"), Decimal("2")]})
    assert list(found.values_list("partner_sku", flat=True)) == ["D"]
    assert not filter_in(StockRecord.objects.all(), {"price": [Decimal("1.505")]}).exists()


def test_a_batchs_keys_are_each_rows_key(catalogue):
    """``Key.of_rows`` (a batch's keys read column by column) gives each row's ``Key.of``: a
    related field given as an object or as its key, a missing value, None, a batch with a row
    that lacks a field."""
    import random

    from data_exchange_tool.imports.natural_keys import Key

    acme, other = catalogue["partners"][:2]
    rng = random.Random(3)
    partners = [acme, other, acme.pk, None]
    skus = ["a", "b", None, "", "x y"]
    for names in (["partner", "partner_sku"], ["partner_sku"], ["partner"]):
        key = Key(StockRecord, names)
        for case in range(200):
            rows = []
            for _ in range(rng.randint(0, 6)):
                row = {"partner": rng.choice(partners[:2] if case % 2 else partners)}
                row["partner_sku"] = rng.choice(skus[:2] if case % 2 else skus)
                if case % 5 == 0 and rng.random() < 0.3:
                    del row[rng.choice(["partner", "partner_sku"])]
                rows.append(row)
            assert key.of_rows(rows) == [key.of(row) for row in rows], rows
