"""The XLSX reader: cells as a person sees them, the first sheet only, and the files it refuses."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from django.test import override_settings
from openpyxl import Workbook

from data_exchange_tool import actions
from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers import XLSXReader, get_reader
from data_exchange_tool.imports.readers.cellformat import cell_text
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord
from tests.helpers import create_job, xlsx_bytes


def workbook_bytes(*sheets: list[list], formats: dict[str, str] | None = None) -> bytes:
    """Return a workbook with one sheet per argument; ``formats`` sets number formats by cell."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for index, rows in enumerate(sheets):
        sheet = workbook.create_sheet(f"Sheet{index + 1}")
        for row in rows:
            sheet.append(row)
    for ref, number_format in (formats or {}).items():
        workbook.worksheets[0][ref].number_format = number_format
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def naive(*args: int) -> datetime.datetime:
    """Return a naive datetime: spreadsheets have no time zones."""
    return datetime.datetime(*args)  # noqa: DTZ001


def read(content: bytes, name: str = "file.xlsx"):
    reader = get_reader(name, io.BytesIO(content))
    with reader:
        rows = list(reader.iter_rows())
    return reader, rows


def with_member(content: bytes, name: str, data: bytes) -> bytes:
    """Return the archive ``content`` with one more member, deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        target.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_xlsx_extension_picks_the_xlsx_reader():
    assert isinstance(get_reader("Stock.XLSX", io.BytesIO(b"")), XLSXReader)


def test_cells_read_as_the_text_a_person_sees():
    rows = [
        ["sku", "price", "qty", "day", "when", "flag", "empty"],
        ["00123", 4.5, 5.0, naive(2024, 1, 31), naive(2024, 1, 31, 13, 45), True, None],
        ["A", 0.00001, 1234567890123, datetime.date(2024, 2, 29), None, False, None],
    ]
    reader, read_rows = read(workbook_bytes(rows))
    assert reader.headers == rows[0]
    assert read_rows == [
        (2, ["00123", "4.5", "5", "2024-01-31", "2024-01-31T13:45:00", "TRUE", ""]),
        (3, ["A", "0.00001", "1234567890123", "2024-02-29", "", "FALSE", ""]),
    ]


def test_zero_padded_number_format_is_kept():
    content = workbook_bytes(
        [["zip", "plain"], [42, 42], [123456, 7]], formats={"A2": "00000", "A3": "00000"}
    )
    _, rows = read(content)
    assert rows == [(2, ["00042", "42"]), (3, ["123456", "7"])]


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    [
        (5.0, "General", "5"),
        (4.5, "General", "4.5"),
        (-3.0, "General", "-3"),
        (7, "000", "007"),
        (7.0, "000", "007"),
        (1e-05, "General", "0.00001"),
        (naive(2024, 1, 31), "yyyy-mm-dd", "2024-01-31"),
        (datetime.time(8, 30), "h:mm", "08:30:00"),
        (None, "General", ""),
    ],
)
def test_cell_text(value, number_format, text):
    assert cell_text(value, number_format) == text


def test_only_the_first_sheet_is_read():
    content = workbook_bytes([["sku"], ["first"]], [["sku"], ["second"], ["third"]])
    reader, rows = read(content)
    assert reader.headers == ["sku"]
    assert rows == [(2, ["first"])]


def test_blank_rows_are_skipped_and_row_numbers_keep_their_place():
    content = workbook_bytes([["sku", "qty"], ["A", 1], [None, None], ["", " "], ["B", 2]])
    _, rows = read(content)
    assert rows == [(2, ["A", "1"]), (5, ["B", "2"])]


def test_header_only_workbook_has_headers_and_no_rows():
    reader, rows = read(xlsx_bytes([], headers=["sku", "qty"]))
    assert reader.headers == ["sku", "qty"]
    assert rows == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"this is not a zip archive", "not a valid XLSX workbook"),
        (xlsx_bytes([["A", 1]], ["sku", "qty"])[:400], "not a valid XLSX workbook"),
    ],
    ids=["empty", "not-a-zip", "truncated"],
)
def test_corrupt_files_are_refused(content, message):
    with pytest.raises(FileFormatError, match=message):
        read(content)


def test_zip_without_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    with pytest.raises(FileFormatError, match=r"not an XLSX workbook \(no xl/workbook.xml"):
        read(out.getvalue())


def test_damaged_sheet_inside_a_valid_archive_is_refused():
    content = xlsx_bytes([["A", 1]], ["sku", "qty"])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/workbook.xml":
                data = b"<not-xml"
            target.writestr(info, data)
    with pytest.raises(FileFormatError, match="cannot be read"):
        read(out.getvalue())


def test_zip_bomb_is_refused():
    bomb = with_member(
        xlsx_bytes([["A", 1]], ["sku", "qty"]), "xl/media/zeros.bin", bytes(50 << 20)
    )
    assert len(bomb) < 1 << 20  # 50 MB inflated from well under 1 MB
    with pytest.raises(FileFormatError, match="zip bomb"):
        read(bomb)


@override_settings(DATA_EXCHANGE_MAX_XLSX_UNCOMPRESSED_SIZE=64 * 1024)
def test_workbook_too_large_once_uncompressed_is_refused():
    content = with_member(
        xlsx_bytes([["A", 1]], ["sku", "qty"]), "xl/media/big.bin", bytes(100_000)
    )
    with pytest.raises(FileFormatError, match="too large once uncompressed"):
        read(content)


@override_settings(DATA_EXCHANGE_MAX_CELL_LENGTH=10)
def test_cell_over_the_limit_is_a_clear_error():
    content = xlsx_bytes([["A", "x" * 10], ["B", "y" * 11]], ["sku", "note"])
    with pytest.raises(FileFormatError, match="Row 3 has a cell longer than 10 characters"):
        read(content)


# --- through a job ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 broken", "not a valid XLSX workbook"),
        (b"", "The file is empty"),
        (
            with_member(xlsx_bytes([]), "xl/media/zeros.bin", bytes(50 << 20)),
            "zip bomb",
        ),
        (xlsx_bytes([], headers=["partner", "product"]), "Missing required column(s): "),
    ],
    ids=["corrupt", "empty", "bomb", "missing-columns"],
)
def test_bad_workbooks_fail_the_preview_with_the_message(
    catalogue, run_on_commit, content, message
):
    with run_on_commit():
        job = create_job(content, "stock.xlsx")
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_FAILED
    assert message in job.message
    assert job.preview_finished_at is not None
    assert not job.is_running


@pytest.mark.django_db
def test_workbook_values_reach_the_serializer_as_text(catalogue, run_on_commit):
    content = workbook_bytes(
        [
            ["Partner", "Product", "Partner SKU", "Price", "Num in stock", "Num allocated"],
            ["ACME", "P-1", "00007", 4.5, 5.0, 0],
            ["Globex", "P-2", 12, 10, 3, 1.0],
        ]
    )
    with run_on_commit():
        job = create_job(content, "stock.xlsx")
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert job.file_encoding == ""
    with run_on_commit():
        actions.confirm_import(job)
    assert sorted(StockRecord.objects.values_list("partner_sku", "num_in_stock")) == [
        ("00007", 5),
        ("12", 3),
    ]
