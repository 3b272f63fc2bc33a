"""ODS (content.xml streamed), XLS (xlrd) and XLSB (calamine): the edges the real files lack."""

from __future__ import annotations

import datetime
import io
import zipfile
from pathlib import Path

import pytest
from django.test import override_settings

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers import ODSReader, XLSBReader, XLSReader, get_reader
from data_exchange_tool.imports.readers.ods import number_text, time_text

FILES = Path(__file__).resolve().parents[2] / "files"
NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def ods(rows: str, more_tables: str = "") -> bytes:
    """Return an ODS whose first table holds ``rows`` (``<table:table-row>`` elements)."""
    content = (
        f"<office:document-content {NS}><office:body><office:spreadsheet>"
        f'<table:table table:name="A">{rows}</table:table>{more_tables}'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
    return out.getvalue()


def row(*cells: str, repeat: int = 1) -> str:
    attribute = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{attribute}>{''.join(cells)}</table:table-row>"


def text(value: str, repeat: int = 1) -> str:
    attribute = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return (
        f'<table:table-cell office:value-type="string"{attribute}><text:p>{value}</text:p>'
        "</table:table-cell>"
    )


def typed(kind: str, attrs: str, shown: str) -> str:
    return (
        f'<table:table-cell office:value-type="{kind}" {attrs}><text:p>{shown}</text:p>'
        "</table:table-cell>"
    )


EMPTY = '<table:table-cell table:number-columns-repeated="1020"/>'


def read(content: bytes, name: str = "file.ods"):
    reader = get_reader(name, io.BytesIO(content))
    with reader:
        rows = list(reader.iter_rows())
    return reader, rows


def test_the_ods_reader_takes_ods():
    assert isinstance(get_reader("a.ODS", io.BytesIO(b"")), ODSReader)


def test_repeated_rows_and_cells_are_expanded_only_when_they_hold_something():
    content = ods(
        row(text("a"), text("b"), EMPTY)
        + row(text("x", repeat=2), EMPTY)
        + row(EMPTY, repeat=1_048_000)
        + row(text("y"), repeat=2)
    )
    reader, rows = read(content)
    assert reader.headers == ["a", "b"]
    assert rows == [(2, ["x", "x"]), (1_048_003, ["y", ""]), (1_048_004, ["y", ""])]


def test_paragraphs_spaces_tabs_and_annotations():
    cell = (
        '<table:table-cell office:value-type="string"><office:annotation><text:p>a comment'
        '</text:p></office:annotation><text:p><text:s/>first<text:tab/>x<text:s text:c="2"/>'
        "</text:p><text:p>second<text:line-break/>third <text:span>span</text:span></text:p>"
        "</table:table-cell>"
    )
    _, rows = read(ods(row(text("h")) + row(cell)))
    assert rows == [(2, [" first\tx  \nsecond\nthird span"])]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (typed("float", 'office:value="1234.5"', "1,234.50"), "1234.50"),
        (typed("currency", 'office:value="-1234.5"', "-1.234,50 €"), "-1234.50"),
        (typed("float", 'office:value="1234567"', "1 234 567"), "1234567"),
        (typed("float", 'office:value="7"', "00007"), "00007"),
        (typed("float", 'office:value="123456"', "1.23E+05"), "123456"),
        (typed("percentage", 'office:value="0.125"', "12.50%"), "0.125"),
        (typed("date", 'office:date-value="2024-03-05T14:30:00"', "05/03/2024"), "2024-03-05"),
        (typed("date", 'office:date-value="2024-03-05T14:30:00"', "05/03/24 14:30"),
         "2024-03-05T14:30:00"),
        (typed("date", 'office:date-value="2024-03-05T00:00:00"', "2024-03-05 00:00"),
         "2024-03-05"),
        (typed("time", 'office:time-value="PT26H00M00S"', "26:00:00"), "26:00:00"),
        (typed("boolean", 'office:boolean-value="false"', "FALSE"), "FALSE"),
    ],
)  # fmt: skip
def test_cells_read_as_the_issue_decided(cell, expected):
    _, rows = read(ods(row(text("h")) + row(cell)))
    assert rows == [(2, [expected])]


def test_only_the_first_table_is_read():
    second = f'<table:table table:name="B">{row(text("other"))}{row(text("no"))}</table:table>'
    reader, rows = read(ods(row(text("h")) + row(text("yes")), second))
    assert (reader.headers, rows) == (["h"], [(2, ["yes"])])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 broken", "not a valid ODS workbook"),
        (ods(row(text("a"), text("a"))), "more than once: a."),
        (ods(row(EMPTY) + row(text("x"))), "no header row"),
        (ods("<table:table-row><table:table-cell"), r"cannot be read \(it may be corrupt\)"),
    ],
)
def test_bad_ods_files(content, message):
    with pytest.raises(FileFormatError, match=message):
        read(content)


@override_settings(DATA_EXCHANGE_MAX_CELL_LENGTH=10)
def test_an_ods_cell_over_the_limit():
    with pytest.raises(FileFormatError, match="Row 2 has a cell longer than 10"):
        read(ods(row(text("h")) + row(text("x" * 11))))


@pytest.mark.parametrize(
    ("value", "shown", "text_"),
    [("0", "0,00 €", "0.00"), ("2.5", "2,500", "2.500"), ("1000", "1,000", "1000"),
     ("0.5", "½", "0.5")],
)  # fmt: skip
def test_number_text(value, shown, text_):
    assert number_text(value, shown) == text_


def test_time_text():
    assert time_text("PT14H30M00S") == "14:30:00"
    assert time_text("P1DT2H") == "26:00:00"
    assert time_text("-PT1H") == "-01:00:00"
    assert time_text("nonsense") == "nonsense"


# --- XLS -------------------------------------------------------------------------------------


def test_the_xls_reader_takes_xls():
    assert isinstance(get_reader("a.XLS", io.BytesIO(b"")), XLSReader)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "not a valid XLS workbook"),
        ((FILES / "typical.xlsx").read_bytes(), "an XLSX workbook saved under an .xls name"),
    ],
)
def test_bad_xls_files(content, message):
    with pytest.raises(FileFormatError, match=message):
        read(content, "stock.xls")


@override_settings(DATA_EXCHANGE_MAX_CELL_LENGTH=10)
def test_an_xls_cell_over_the_limit():
    with pytest.raises(FileFormatError, match="Row 2 has a cell longer than 10"):
        read((FILES / "typical.xls").read_bytes(), "typical.xls")


# --- XLSB (python-calamine: values, no number formats) ---------------------------------------


class FakeSheet:
    def __init__(self, rows, start=(0, 0)):
        self.rows, self.start, self.height = rows, start, len(rows)

    def iter_rows(self):
        return iter(self.rows)


class FakeBook:
    sheet: FakeSheet
    closed = False

    @classmethod
    def from_path(cls, path):
        return cls()

    def get_sheet_by_index(self, index):
        return self.sheet

    def close(self):
        FakeBook.closed = True


def xlsb_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00")
    return out.getvalue()


def naive(*args: int) -> datetime.datetime:
    """Return a naive datetime: spreadsheets have no time zones."""
    return datetime.datetime(*args)  # noqa: DTZ001


def test_xlsb_values_read_as_text(monkeypatch):
    import python_calamine

    FakeBook.sheet = FakeSheet(
        [
            ["code", "price", "day", "when", "flag", "span", "empty"],
            ["00042", 42.0, datetime.date(2024, 3, 5), naive(2024, 3, 5, 14, 30),
             True, datetime.timedelta(hours=26), ""],
            ["", 1.5, naive(2024, 1, 1), datetime.time(8, 30), False, 0.1 + 0.2, ""],
        ]
    )  # fmt: skip
    monkeypatch.setattr(python_calamine, "CalamineWorkbook", FakeBook)
    reader, rows = read(xlsb_archive(), "book.xlsb")
    assert isinstance(reader, XLSBReader)
    assert reader.headers == ["code", "price", "day", "when", "flag", "span", "empty"]
    assert rows == [
        (2, ["00042", "42", "2024-03-05", "2024-03-05T14:30:00", "TRUE", "26:00:00", ""]),
        (3, ["", "1.5", "2024-01-01", "08:30:00", "FALSE", "0.3", ""]),
    ]
    assert FakeBook.closed


def test_a_broken_xlsb_is_refused():
    with pytest.raises(FileFormatError, match="not a valid XLSB workbook"):
        read(b"PK\x03\x04 broken", "book.xlsb")
    with pytest.raises(FileFormatError, match="cannot be read"):
        read(xlsb_archive(), "book.xlsb")
