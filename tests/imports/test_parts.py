"""Cutting a CSV file into parts: record boundaries found from any offset, and proved."""

from __future__ import annotations

import csv
import io
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_exchange_tool.imports import parts
from data_exchange_tool.imports.parts import (
    CSVPartReader,
    PartBoundaryError,
    cuttable,
    find_boundary,
    nominal_offsets,
    part_count,
    row_offsets,
    with_sentinel,
)
from data_exchange_tool.imports.readers.csv import CSVReader

CELL = 32767


def random_csv(rnd: random.Random, rows: int, newline: str = "\r\n") -> str:
    """A CSV text with quoted newlines, doubled quotes, delimiters in cells and blank lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(["a", "b", "c"])
    choices = ["x\ny", 'q"q\n"', ',,"', "é€ü", "", "plain", '"', "\r\n", "a\n\nb"]
    for _ in range(rows):
        if rnd.random() < 0.05:
            out.write(newline)  # a blank line: a record, and no row
            continue
        writer.writerow(
            [rnd.choice(choices) if rnd.random() < 0.4 else str(rnd.random()) for _ in range(3)]
        )
    return out.getvalue()


def record_starts(data: bytes) -> list[int]:
    """The byte offsets where records start, by a full parse (quote parity per line)."""
    starts, quoted, position = [0], False, 0
    for line in data.splitlines(keepends=True):
        quoted ^= line.count(b'"') % 2 == 1
        position += len(line)
        if not quoted and line.endswith(b"\n"):
            starts.append(position)
    return starts


def reader_of(data: bytes):
    def read(start: int, size: int) -> bytes:
        return data[start : start + size]

    return read


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_a_boundary_is_the_first_record_start_at_or_after_any_offset(seed, newline):
    rnd = random.Random(seed)
    data = random_csv(rnd, rnd.randint(1, 60), newline).encode()
    starts = record_starts(data)
    for offset in range(len(data) + 1):
        expected = next((s for s in starts if s >= offset), len(data))
        assert find_boundary(reader_of(data), offset, len(data), ",") == expected, offset


def test_a_quoted_newline_exactly_at_the_offset_is_not_a_boundary():
    data = b'a,b\r\n1,"x\r\ny"\r\n2,z\r\n'
    inside = data.index(b"\ny") + 1  # just after the newline inside the quoted cell
    assert find_boundary(reader_of(data), inside, len(data), ",") == data.index(b"2,z")
    after_record = data.index(b"1,")
    assert find_boundary(reader_of(data), after_record, len(data), ",") == after_record


def test_an_offset_past_the_last_record_gives_the_end():
    data = b"a,b\r\n1,2"
    assert find_boundary(reader_of(data), 6, len(data), ",") == len(data)
    assert find_boundary(reader_of(data), 0, len(data), ",") == 0


def read_all(data: bytes, encoding: str, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    reader = CSVReader(
        io.BytesIO(data), max_cell_length=CELL, encoding=encoding, delimiter=delimiter
    )
    with reader:
        return list(reader.iter_rows())


def read_parts(
    data: bytes, count: int, encoding: str, delimiter: str = ","
) -> tuple[list[tuple[int, list[str]]], list[int]]:
    """Cut ``data`` into ``count`` parts as the tasks do; return the rows renumbered, records."""
    ranges = nominal_offsets(len(data), count)
    read = reader_of(data)
    bounds = [
        (
            find_boundary(read, start, len(data), delimiter),
            None if end is None else find_boundary(read, end, len(data), delimiter),
        )
        for start, end in ranges
    ]
    headers = None
    found, records = [], []
    for index, (start, end) in enumerate(bounds):
        stream = io.BytesIO(data[start:end] if end is not None else data[start:])
        if end is not None:
            stream = with_sentinel(stream, encoding)
        reader = CSVPartReader(
            stream,
            max_cell_length=CELL,
            encoding=encoding,
            delimiter=delimiter,
            headers=None if index == 0 else headers,
            verify=end is not None,
            size=(end or len(data)) - start,
        )
        with reader:
            headers = headers or reader.headers
            found.append(list(reader.iter_rows()))
        records.append(reader.records)
    offsets = row_offsets(records)
    rows = [(n + off, cells) for part, off in zip(found, offsets, strict=True) for n, cells in part]
    return rows, records


@pytest.mark.parametrize("count", [1, 2, 3, 7, 40, 400])
@pytest.mark.parametrize(
    ("encoding", "newline", "text"),
    [
        ("utf-8", "\r\n", "é€ü"),
        ("utf-8-sig", "\n", "é€ü"),
        ("cp1252", "\r\n", "éü"),
        ("cp932", "\r\n", "ソ表能"),  # trail bytes 0x5C / 0x7C / 0x40-0x7E, never , " or \n
        ("gbk", "\n", "中文表"),
    ],
)
def test_the_parts_read_exactly_the_rows_of_the_whole_file(count, encoding, newline, text):
    rnd = random.Random(count)
    body = random_csv(rnd, 120, newline).replace("é€ü", text)
    data = body.encode(encoding)
    rows, records = read_parts(data, count, encoding)
    assert rows == read_all(data, encoding)
    assert sum(records) == len(list(csv.reader(io.StringIO(body, newline=""))))


def test_tiny_parts_are_empty_and_the_next_part_reads_their_records():
    data = b'a,b\r\n1,"a long quoted cell with\r\na newline in it"\r\n2,x\r\n'
    rows, records = read_parts(data, 30, "utf-8")
    assert rows == read_all(data, "utf-8")
    assert 0 in records


def test_a_part_that_ends_inside_a_quoted_cell_is_refused():
    data = b'a,b\r\n1,"x\r\ny"\r\n2,z\r\n'
    wrong_end = data.index(b"\ny") + 1  # inside the quoted cell
    stream = with_sentinel(io.BytesIO(data[:wrong_end]), "utf-8")
    reader = CSVPartReader(
        stream,
        max_cell_length=CELL,
        encoding="utf-8",
        delimiter=",",
        headers=None,
        verify=True,
        size=wrong_end,
    )
    with reader, pytest.raises(PartBoundaryError):
        list(reader.iter_rows())


def test_a_part_reads_its_records_numbered_from_its_start():
    data = b"1,2\r\n\r\n3,4\r\n"
    reader = CSVPartReader(
        with_sentinel(io.BytesIO(data), "utf-8"),
        max_cell_length=CELL,
        encoding="utf-8",
        delimiter=",",
        headers=["a", "b"],
        verify=True,
        size=len(data),
    )
    with reader:
        assert list(reader.iter_rows()) == [(1, ["1", "2"]), (3, ["3", "4"])]
    assert reader.records == 3


@pytest.mark.parametrize(
    ("encoding", "delimiter", "expected"),
    [
        ("utf-8", ",", True),
        ("utf-8-sig", ";", True),
        ("cp1252", "\t", True),
        ("iso-8859-2", ",", True),
        ("cp932", ",", True),
        ("cp932", "|", False),  # 0x7C is a trail byte of Shift_JIS
        ("big5", ";", True),
        ("utf-16", ",", False),
        ("utf-32", ",", False),
        ("no-such-codec", ",", False),
    ],
)
def test_only_encodings_whose_special_bytes_stand_alone_are_cut(encoding, delimiter, expected):
    assert cuttable(encoding, delimiter) is expected


def test_part_count_follows_the_rows_the_head_suggests():
    head = b"a,b\n" + b"1,2\n" * 99  # 100 lines of 4 bytes
    assert part_count(400, head, 0) == 1
    assert part_count(400, head, 100) == 1
    assert part_count(40_000, head, 1000) == 10
    assert part_count(10**9, head, 1) == parts.MAX_PARTS
    assert part_count(400, b"no newline", 1) == 1


def test_part_count_is_the_nearest_whole_number_of_parts_not_the_next():
    head = b"a,b\n" + b"1,2\n" * 99  # 100 lines of 4 bytes
    # The header line (or an estimate a little high) over 8 parts' rows adds no ninth part.
    assert part_count(40_040, head, 1250) == 8
    assert part_count(40_000 * 8 // 7, head, 1250) == 9  # 9.1 parts' rows
    assert part_count(46_000, head, 1000) == 12  # 11.5: the nearer whole number, rounded even
    # Just over the threshold: cut in two, each part over half of part_rows.
    assert part_count(520, head, 100) == 2
    assert part_count(560, head, 100) == 2
    assert part_count(400, head, 100) == 1
    for size in range(404, 40_000, 44):  # every part holds half to 1.5 times part_rows
        count = part_count(size, head, 100)
        rows = size // 4
        assert count >= 2, size
        assert 0.5 * 100 <= rows / count <= 1.5 * 100, (size, count)


def test_nominal_offsets_and_row_offsets():
    assert nominal_offsets(10, 3) == [(0, 3), (3, 6), (6, None)]
    assert nominal_offsets(10, 1) == [(0, None)]
    assert row_offsets([5, 0, 3, 2]) == [0, 5, 5, 8]


def test_a_workbook_written_as_csv_reads_back_as_the_same_cells_and_numbers():
    rows = [
        (2, ["a", "1"]),
        (3, ['say "hi"', "x,y"]),
        (7, ["two\nlines", "\r\n"]),  # rows 4-6 are blank in the workbook
        (8, ["", "=1+1"]),
    ]
    out = io.StringIO(newline="")
    assert parts.write_csv(["h1", "h2"], rows, out) == 4
    data = out.getvalue().encode()
    reader = CSVReader(io.BytesIO(data), max_cell_length=CELL, encoding="utf-8", delimiter=",")
    with reader:
        assert reader.headers == ["h1", "h2"]
        assert list(reader.iter_rows()) == rows
    cut, _records = read_parts(data, 3, "utf-8")
    assert cut == rows


# --- the cells a part stages with its keys ----------------------------------------------------


@pytest.mark.parametrize(
    "cells",
    [
        ["Partner 042", "PRD-01234", "12.50", ""],
        ['A "quoted"\r\nlabel', "Two lines,\nand a comma", "tab\there", "back\\slash", "'"],
        ["caf\u00e9", "\u65e5\u672c", "\ufffd", "\udc80 a lone surrogate", "\x1e\x1f"],
        [],
    ],
)
def test_staged_cells_read_back_as_they_were(cells):
    from data_exchange_tool.imports.staging import read_cells

    text = repr(cells)  # what StagedKeys.stage copies
    text.encode("utf-8")  # the COPY sends it as UTF-8: no lone surrogate left in it
    assert read_cells(text) == cells


@given(st.lists(st.text()))
def test_any_staged_cells_read_back_as_they_were(cells):
    from data_exchange_tool.imports.staging import read_cells

    assert read_cells(repr(cells)) == cells
    repr(cells).encode("utf-8")


@pytest.mark.parametrize("text", ["('a',)", "[1]", "__import__('os')", "['a'] + ['b']"])
def test_staged_cells_are_a_list_of_strings_or_refused(text):
    from data_exchange_tool.imports.staging import read_cells

    with pytest.raises(ValueError, match=r"malformed|not staged cells"):
        read_cells(text)
