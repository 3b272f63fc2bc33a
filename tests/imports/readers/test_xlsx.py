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


# --- the streaming reader, on hand-made workbooks ------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STYLES = (
    f'<styleSheet xmlns="{MAIN}"><numFmts count="2"><numFmt numFmtId="164" formatCode="00000"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<cellXfs count="8"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/>'
    '<xf numFmtId="165"/><xf numFmtId="2"/><xf numFmtId="31"/><xf numFmtId="10"/>'
    '<xf numFmtId="46"/></cellXfs></styleSheet>'
)


def handmade(rows: str, strings: str = "", *, date1904: bool = False, prefix: str = "") -> bytes:
    """Return a minimal workbook whose sheet's ``<sheetData>`` holds ``rows``."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    parts = {
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><workbookPr '
        f'date1904="{int(date1904)}"/><sheets><sheet name="S" sheetId="1" r:id="rId1"/>'
        "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships"><Relationship Id="rId1" Type="{RELS}/worksheet" '
        f'Target="worksheets/Sheet1.xml"/><Relationship Id="rId2" Type="{RELS}/styles" '
        f'Target="styles.xml"/><Relationship Id="rId3" Type="{RELS}/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>',
        "xl/styles.xml": STYLES,
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{strings}</sst>',
        "xl/worksheets/sheet1.xml": f"<{p}worksheet {xmlns}><{p}sheetData>"
        f"{rows.replace('<', '<' + p).replace('<' + p + '/', '</' + p)}"
        f"</{p}sheetData></{p}worksheet>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


HEADER = '<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c></row>'


def cells_of(content: bytes) -> list[tuple[int, list[str]]]:
    _, rows = read(content)
    return [
        (n, cells[: max((i + 1 for i, c in enumerate(cells) if c), default=0)]) for n, cells in rows
    ]


def test_every_cell_type():
    rows = HEADER + (
        '<row r="2"><c r="A2" t="inlineStr"><is><t>inline</t></is></c>'
        '<c r="B2" t="b"><v>1</v></c><c r="C2" t="b"><v>0</v></c>'
        '<c r="D2" t="e"><v>#DIV/0!</v></c><c r="E2" t="str"><f>A2&amp;"x"</f><v>inlinex</v></c>'
        '<c r="F2"><f>1+1</f><v>2</v></c><c r="G2"><f>1+2</f></c>'
        '<c r="H2" t="s"><v>0</v></c><c r="I2" t="s"><v>1</v></c>'
        '<c r="J2" t="d"><v>2024-03-05T14:30:00</v></c><c r="K2" t="inlineStr"><is><r><t>ri'
        "</t></r><r><t>ch</t></r></is></c></row>"
    )
    strings = (
        "<si><r><t>rich </t></r><r><t>text</t></r></si>"
        '<si><t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh></si>'
    )
    assert cells_of(handmade(rows, strings)) == [
        (
            2,
            ["inline", "TRUE", "FALSE", "#DIV/0!", "inlinex", "2", "", "rich text", "東京",
             "2024-03-05T14:30:00", "rich"],
        )
    ]  # fmt: skip


def test_missing_references_gaps_and_columns_past_z():
    rows = HEADER + (
        "<row><c><v>1</v></c><c><v>2</v></c></row>"
        '<row r="4"><c r="A4"><v>3</v></c><c r="C4"><v>5</v></c></row>'
        '<row><c r="B5"><v>7</v></c></row>'
        '<row r="6"/>'
        '<row r="7"><c r="AA7"><v>9</v></c></row>'
    )
    assert cells_of(handmade(rows)) == [
        (2, ["1", "2"]),
        (4, ["3", "", "5"]),
        (5, ["", "7"]),
        (7, [""] * 26 + ["9"]),
    ]


def test_number_formats_as_the_issue_decided():
    rows = HEADER + (
        '<row r="2"><c r="A2" s="1"><v>123</v></c><c r="B2" s="2"><v>45356</v></c>'
        '<c r="C2" s="3"><v>45292</v></c><c r="D2" s="4"><v>1.5</v></c>'
        '<c r="E2" s="2"><v>45356.5</v></c><c r="F2" s="5"><v>45356</v></c>'
        '<c r="G2" s="6"><v>0.125</v></c><c r="H2" s="7"><v>1.0833333333333333</v></c>'
        '<c r="I2" s="3"><v>45356.604166666664</v></c><c r="J2" s="4"><v>2.675</v></c></row>'
    )
    assert cells_of(handmade(rows)) == [
        (
            2,
            [
                "00123",  # 00000
                "2024-03-05",  # a date format
                "2024-01-01",  # a date-time format at midnight: a date
                "1.50",  # 0.00
                "2024-03-05",  # a date format shows no time
                "2024-03-05",  # id 31, which Japanese Excel leaves undefined: a date
                "0.125",  # 0.00%: the stored value
                "26:00:00",  # [h]:mm:ss: the hours elapsed
                "2024-03-05T14:30:00",
                "2.68",  # rounded half up, as Excel shows it (Python's format gives 2.67)
            ],
        )
    ]


def test_the_1904_date_system():
    rows = HEADER + '<row r="2"><c r="A2" s="2"><v>43894</v></c></row>'
    assert cells_of(handmade(rows, date1904=True)) == [(2, ["2024-03-05"])]


def test_a_namespace_prefix_is_parsed_by_expat():
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2"><v>2.50</v></c></row>'
    )
    reader, read_rows = read(handmade(rows, "<si><t>x</t></si>", prefix="x"))
    assert reader.headers == ["x"]
    assert read_rows == [(2, ["x", "2.5"])]


def test_escapes_entities_and_line_ends_are_decoded_on_both_paths():
    strings = "<si><t>line_x000D_break</t></si><si><t>_x005F_x000D_ literal</t></si>"
    quick = (
        '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c>'
        '<c r="C2" t="inlineStr"><is><t>a &amp; b &lt;c&gt; &#233;</t></is></c>'
        '<c r="D2" t="inlineStr"><is><t xml:space="preserve"> x_x0009_y </t></is></c></row>'
    )
    slow = (
        quick.replace('r="2"', 'r="3"')
        .replace("A2", "A3")
        .replace('<c r="B2"', '<c r="B3"><f>x</f><v>1</v></c><c r="X3"')
    )
    found = cells_of(handmade(HEADER + quick + slow, strings))
    expected = ["line\rbreak", "_x000D_ literal", "a & b <c> é", " x\ty "]
    assert found[0] == (2, expected)
    assert found[1][1][0] == expected[0]
    assert found[1][1][2:4] == expected[2:]


def test_a_shared_string_that_is_not_there_is_a_corrupt_workbook():
    rows = HEADER + '<row r="2"><c r="A2" t="s"><v>7</v></c></row>'
    with pytest.raises(FileFormatError, match="shared string '7', which is not there"):
        read(handmade(rows, "<si><t>x</t></si>"))


def test_a_dtd_is_refused():
    content = handmade(HEADER)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/sharedStrings.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + data
            target.writestr(info, data)
    with pytest.raises(FileFormatError, match="declares a DTD"):
        read(out.getvalue())


def test_shared_strings_past_the_memory_bound_are_read_from_disk():
    from data_exchange_tool.imports.readers.ooxml import load_shared_strings

    xml = f'<sst xmlns="{MAIN}">' + "".join(f"<si><t>s{i} é</t></si>" for i in range(10)) + "</sst>"
    table = load_shared_strings(io.BytesIO(xml.encode()), keep=3)
    try:
        get = table.getter()
        assert len(table) == 10
        assert [get(i) for i in range(10)] == [f"s{i} é" for i in range(10)]
        assert table.file is not None
    finally:
        table.close()


def shared_strings_xml(count: int) -> bytes:
    items = "".join(f"<si><t>s{i} é</t></si>" for i in range(count))
    return f'<sst xmlns="{MAIN}">{items}</sst>'.encode()


def test_spilled_shared_strings_are_read_across_index_blocks_in_any_order():
    from data_exchange_tool.imports.readers.ooxml import (
        INDEX_BLOCK,
        INDEX_BLOCKS_CACHED,
        load_shared_strings,
    )

    count = (INDEX_BLOCKS_CACHED + 3) * INDEX_BLOCK + 7  # more blocks than are cached
    table = load_shared_strings(io.BytesIO(shared_strings_xml(count)), keep=5)
    try:
        get = table.getter()
        assert len(table) == count
        order = [*range(count - 1, -1, -1), *range(0, count, 97), INDEX_BLOCK + 4, INDEX_BLOCK + 5]
        assert [get(i) for i in order] == [f"s{i} é" for i in order]
        with pytest.raises(IndexError):
            get(count)
    finally:
        table.close()


def test_spilled_shared_strings_keep_nothing_per_string_in_memory():
    """Ten times the spilled strings retain no more memory (their offsets wait on disk too)."""
    import tracemalloc

    from data_exchange_tool.imports.readers.ooxml import load_shared_strings

    def retained(count: int) -> int:
        xml = shared_strings_xml(count)
        tracemalloc.start()
        try:
            table = load_shared_strings(io.BytesIO(xml), keep=10)
            table.getter()
            size = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        table.close()
        return size

    small, large = retained(10_000), retained(60_000)
    # 50,000 more strings: 8 bytes each would be 400 KB more.
    assert large - small < 64 * 1024, (small, large)


@pytest.mark.parametrize("threshold", [0, None], ids=["child-process", "this-process"])
def test_a_large_sheet_read_by_a_child_process_reads_alike(threshold, settings):
    settings.DATA_EXCHANGE_XLSX_PROCESS_THRESHOLD = threshold
    rows = [[f"SKU-{i:05d}", i / 4, i, naive(2024, 1, 1 + i % 28)] for i in range(3000)]
    content = workbook_bytes([["sku", "price", "qty", "day"], *rows], formats={"B2": "0.00"})
    reader, read_rows = read(content)
    assert type(reader._source).__name__ == ("ChildSheet" if threshold == 0 else "LocalSheet")
    assert len(read_rows) == 3000
    assert read_rows[0] == (2, ["SKU-00000", "0.00", "0", "2024-01-01"])
    assert read_rows[-1] == (3001, ["SKU-02999", "749.75", "2999", "2024-01-04"])
    assert reader.estimate_total_rows(3000, None) == 3000


def test_a_child_that_cannot_start_leaves_the_sheet_to_this_process(settings, monkeypatch):
    settings.DATA_EXCHANGE_XLSX_PROCESS_THRESHOLD = 0
    monkeypatch.setattr("sys.executable", "/nonexistent/python3")
    reader, read_rows = read(xlsx_bytes([["A", 1]], ["sku", "qty"]))
    assert type(reader._source).__name__ == "ChildSheet"
    assert read_rows == [(2, ["A", "1"])]


def test_a_child_reports_a_damaged_sheet_as_the_reader_would(settings):
    settings.DATA_EXCHANGE_XLSX_PROCESS_THRESHOLD = 0
    rows = HEADER + '<row r="2"><c r="A2" t="s"><v>9</v></c></row>'
    with pytest.raises(FileFormatError, match="shared string '9', which is not there"):
        read(handmade(rows))


def test_a_cell_past_the_last_column_is_a_corrupt_workbook():
    rows = HEADER + '<row r="2"><c r="ZZZ2"><v>1</v></c></row>'
    with pytest.raises(FileFormatError, match="in column ZZZ, past the last one"):
        read(handmade(rows))
