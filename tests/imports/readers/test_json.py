"""JSON and JSON Lines: the header from the first objects, cells as the file wrote them."""

from __future__ import annotations

import io
import json

import pytest
from django.test import override_settings

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers import JSONLinesReader, JSONReader, get_reader
from data_exchange_tool.imports.readers import json as json_reader


def read(content: bytes, name: str = "file.json", **given: str):
    reader = get_reader(name, io.BytesIO(content), **given)
    with reader:
        rows = list(reader.iter_rows())
    return reader, rows


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.json", JSONReader), ("a.JSONL", JSONLinesReader), ("a.ndjson", JSONLinesReader)],
)
def test_extensions(name, kind):
    assert isinstance(get_reader(name, io.BytesIO(b"")), kind)


def test_values_keep_the_files_own_text():
    content = (
        b'[{"n": 12.50, "big": 12345678901234567890, "t": true, "f": false, "none": null,'
        b' "s": "x", "list": [1, 2.50, "a"], "obj": {"k": null, "n": -0.0}}]'
    )
    reader, rows = read(content)
    assert reader.headers == ["n", "big", "t", "f", "none", "s", "list", "obj"]
    assert rows == [
        (1, ["12.50", "12345678901234567890", "true", "false", "", "x", '[1, 2.50, "a"]',
             '{"k": null, "n": -0.0}'])
    ]  # fmt: skip


def test_the_header_is_the_union_of_the_first_objects_keys_in_first_seen_order():
    content = b'[{"b": 1}, {"a": 2, "b": 3}, {"c": 4}]'
    reader, rows = read(content)
    assert reader.headers == ["b", "a", "c"]
    assert rows == [(1, ["1", "", ""]), (2, ["3", "2", ""]), (3, ["", "", "4"])]


def test_a_key_first_seen_after_the_header_objects_is_an_error_naming_it(monkeypatch):
    monkeypatch.setattr(json_reader, "HEADER_OBJECTS", 2)
    content = b'[{"a": 1}, {"a": 2}, {"a": 3, "late": 4, "later": 5}]'
    with pytest.raises(FileFormatError) as refused:
        read(content)
    message = str(refused.value)
    assert "Object 3 has key(s) none of the first 2 objects has: 'late', 'later'." in message
    assert "with null where there is no value" in message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"[]", "holds no object"),
        (b'{"a": 1}', "it holds one object. A file of one object per line is JSON Lines"),
        (b"[1, 2]", "Item 1 of the array is not an object"),
        (b'[{"a": 1}, {"a": 2,, }]', "Object 2 is not valid JSON"),
        (b'[{"a": 1} {"a": 2}]', "cannot be read after object 1"),
        (b'[{"a": 1}] x', "goes on after the end of its array"),
        (b'[{"a": 1, "a": 2}]', "Object 1 has the key 'a' twice."),
        (b'[{"a": 1}, {"a": ', "Object 2 is not valid JSON"),
        (b"[" + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"]", "nested too deeply"),
        ("[{\"a\": \"caf\xe9\"}]".encode("latin-1"), "not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "This is not a JSON text file (it looks like a PNG image)."),
    ],
    ids=["empty", "no-object", "one-object", "not-objects", "syntax", "no-comma", "trailing",
         "duplicate-key", "cut", "deep", "latin-1", "png"],
)  # fmt: skip
def test_bad_json_is_refused_in_words(content, message):
    with pytest.raises(FileFormatError) as refused:
        read(content)
    assert message in str(refused.value)


def test_objects_are_read_incrementally_across_buffer_refills():
    records = [{"id": i, "text": "é" * (i % 50) + "x" * 3000} for i in range(300)]
    content = json.dumps(records, ensure_ascii=False).encode()
    assert len(content) > 8 * json_reader.READ_CHARS
    _, rows = read(content)
    assert len(rows) == 300
    assert rows[299] == (300, ["299", "é" * 49 + "x" * 3000])


@override_settings(DATA_EXCHANGE_MAX_CELL_LENGTH=10)
def test_an_object_past_its_bound_is_refused_without_reading_on():
    content = b'[{"a": "' + b"x" * 100_000 + b'"}]'
    with pytest.raises(FileFormatError, match="Object 1 is longer than 640 characters"):
        read(content)


@override_settings(DATA_EXCHANGE_MAX_CELL_LENGTH=10)
def test_a_cell_over_the_limit():
    with pytest.raises(FileFormatError, match="Row 2 has a cell longer than 10 characters"):
        read(b'[{"a": "short"}, {"a": "' + b"y" * 11 + b'"}]')


def test_utf16_with_a_bom_and_a_named_encoding():
    reader, rows = read('[{"name": "Zoë"}]'.encode("utf-16"))
    assert (reader.encoding, rows) == ("utf-16", [(1, ["Zoë"])])
    reader, rows = read('[{"name": "Zoë"}]'.encode("cp1252"), encoding="cp1252")
    assert rows == [(1, ["Zoë"])]


def test_json_lines_skip_blank_lines_and_count_lines():
    content = b'{"a": 1}\r\n\r\n{"b": "x"}\n\n{"a": 3}\n'
    reader, rows = read(content, "rows.jsonl")
    assert reader.headers == ["a", "b"]
    assert rows == [(1, ["1", ""]), (3, ["", "x"]), (5, ["3", ""])]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1}\n[1]\n', "Line 2 is not a JSON object"),
        (b'{"a": 1}\n{"a": \n', "Line 2 is not valid JSON"),
        (b'{"a": 1, "a": 2}\n', "Line 1 has the key 'a' twice."),
    ],
)
def test_bad_json_lines_fail_the_file_naming_the_line(content, message):
    with pytest.raises(FileFormatError, match=message):
        read(content, "rows.jsonl")


@override_settings(DATA_EXCHANGE_MAX_CELL_LENGTH=10)
def test_a_json_line_past_its_bound_is_refused():
    with pytest.raises(FileFormatError, match="Line 1 is longer than 640 characters"):
        read(b'{"a": "' + b"z" * 5000 + b'"}\n', "rows.jsonl")
