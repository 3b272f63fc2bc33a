"""The CSV reader: encodings, delimiters, quoting, blank rows and the files it refuses."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings

from data_exchange_tool import actions
from data_exchange_tool.exceptions import EncodingGuessError, FileFormatError
from data_exchange_tool.imports.readers import CSVReader, get_reader, supported_extensions
from data_exchange_tool.imports.readers.csv import SNIFF_BYTES
from data_exchange_tool.states import JobState
from tests.helpers import create_job, csv_bytes, stock_rows
from tests.imports.readers.test_files import FILES


def read(content: bytes, name: str = "file.csv"):
    """Return ``(reader, rows)`` of a whole file."""
    reader = get_reader(name, io.BytesIO(content))
    with reader:
        rows = list(reader.iter_rows())
    return reader, rows


def test_csv_extensions_pick_the_csv_reader():
    assert isinstance(get_reader("DATA.CSV", io.BytesIO(b"")), CSVReader)
    assert {".csv", ".xlsx"} <= set(supported_extensions())


def test_utf8_without_bom():
    reader, rows = read("name,city\nZoë,Zürich\n".encode())
    assert reader.encoding == "utf-8"
    assert reader.headers == ["name", "city"]
    assert rows == [(2, ["Zoë", "Zürich"])]


def test_utf8_with_bom_keeps_the_bom_out_of_the_first_header():
    reader, rows = read(b"\xef\xbb\xbfname,city\nZo\xc3\xab,Paris\n")
    assert reader.encoding == "utf-8-sig"
    assert reader.headers == ["name", "city"]
    assert rows == [(2, ["Zoë", "Paris"])]


def test_cp1252_is_detected_and_decoded():
    reader, rows = read("name,price\nCafé,5 €\n".encode("cp1252"))
    assert reader.encoding == "cp1252"
    assert rows == [(2, ["Café", "5 €"])]


def test_a_byte_cp1252_lacks_goes_to_a_code_page_that_has_it():
    # 0x81 has no character in cp1252: the file is not cp1252. The old chain read it as latin-1
    # (an invisible control character); the detector picks a code page that defines the byte.
    reader, rows = read(b"name,code\ncaf\xe9,\x81\n")
    assert reader.encoding not in ("cp1252", "latin-1", "iso8859-1")
    assert rows[0][1][0] == "café"


def test_multibyte_character_cut_by_the_sniffed_head_is_still_utf8():
    line = b"a" * 99 + b"\n"
    body = b"name\n" + line * (SNIFF_BYTES // len(line))
    filler = b"b" * (SNIFF_BYTES - len(body) - 1)
    content = body + filler + "é\n".encode()  # é's two bytes straddle the head's end
    assert content[SNIFF_BYTES - 1 : SNIFF_BYTES + 1] == "é".encode()
    reader, rows = read(content)
    assert reader.encoding == "utf-8"
    assert rows[-1][1] == [filler.decode() + "é"]


def test_invalid_utf8_byte_after_the_sniffed_head_names_the_next_encoding():
    line = b"x" * 99 + b"\n"
    content = b"name\n" + line * (2 * SNIFF_BYTES // len(line)) + b"caf\xe9\n"
    reader = get_reader("late.csv", io.BytesIO(content))
    with reader:
        assert reader.encoding == "utf-8"
        with pytest.raises(EncodingGuessError, match="not utf-8 past its first bytes") as late:
            list(reader.iter_rows())
    assert late.value.encoding == "cp1252"


def test_late_text_that_reads_in_two_scripts_is_refused_naming_both():
    # An ASCII head read as UTF-8, then four rows of Greek that read as well in Cyrillic.
    greek = (FILES / "cp1253_el_ambiguous_short.csv").read_bytes().split(b"\r\n", 1)[1]
    line = b"x,x,x,x,x,x,x\r\n"
    content = b"a,b,c,d,e,f,g\r\n" + line * (2 * SNIFF_BYTES // len(line)) + greek
    reader = get_reader("late.csv", io.BytesIO(content))
    with reader:
        assert reader.encoding == "utf-8"
        with pytest.raises(FileFormatError) as refused:
            list(reader.iter_rows())
    assert not isinstance(refused.value, EncodingGuessError)
    assert str(refused.value).startswith("The file is not utf-8 text past its first bytes (byte")
    assert "reads as Greek (windows-1253) or as Cyrillic (windows-1251)" in str(refused.value)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(delimiter):
    rows = [["ACME", "P-1", "a,b;c|d", "1.50"]]
    content = csv_bytes(rows, ["partner", "product", "sku", "price"], delimiter=delimiter)
    reader, read_rows = read(content)
    assert reader.delimiter == delimiter
    assert reader.headers == ["partner", "product", "sku", "price"]
    assert read_rows == [(2, rows[0])]


def test_single_column_file_defaults_to_comma():
    reader, rows = read(b"sku\nA\nB\n")
    assert reader.headers == ["sku"]
    assert rows == [(2, ["A"]), (3, ["B"])]


def test_quoted_multiline_cell_is_one_row():
    content = b'sku,note\nA,"first line\nsecond line"\nB,plain\n'
    _, rows = read(content)
    assert rows == [(2, ["A", "first line\nsecond line"]), (3, ["B", "plain"])]


def test_blank_rows_are_skipped_and_row_numbers_keep_their_place():
    content = b"sku,qty\r\nA,1\r\n\r\n,\r\n  ,  \r\nB,2\r\n\r\n"
    _, rows = read(content)
    assert rows == [(2, ["A", "1"]), (6, ["B", "2"])]


def test_trailing_blank_headers_are_dropped():
    reader, _ = read(b"sku,qty,,\nA,1,,\n")
    assert reader.headers == ["sku", "qty"]


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "a ZIP archive"),  # an XLSX renamed .csv
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"sku\x00,qty\x00\n", "binary data"),  # NUL bytes in the first line
    ],
    ids=["zip", "png", "nul-in-the-header"],
)
def test_binary_files_are_refused_with_a_clear_error(content, looks_like):
    with pytest.raises(FileFormatError, match="not a CSV text file") as refused:
        read(content)
    assert f"(it looks like {looks_like}" in str(refused.value)


def test_utf16_with_a_bom_is_text_not_binary():
    # Excel's "Unicode Text": UTF-16 LE with a BOM, tab-separated (NUL in every other byte).
    reader, rows = read("sku\tqty\r\nZoë\t1\r\n".encode("utf-16"), "stock.txt")
    assert (reader.encoding, reader.delimiter) == ("utf-16", "\t")
    assert rows == [(2, ["Zoë", "1"])]


def test_nul_in_a_data_cell_reaches_the_row():
    # A single NUL inside a cell is the row's problem (reported by validation), not the file's.
    _, rows = read(b"sku,qty\nA\x00B,1\nC,2\n")
    assert rows == [(2, ["A\x00B", "1"]), (3, ["C", "2"])]


@override_settings(DATA_EXCHANGE_MAX_CELL_LENGTH=10)
def test_cell_at_the_limit_is_read():
    _, rows = read(b"sku,qty\n" + b"x" * 10 + b",1\n")
    assert rows == [(2, ["x" * 10, "1"])]


@override_settings(DATA_EXCHANGE_MAX_CELL_LENGTH=10)
def test_cell_over_the_limit_is_a_clear_error():
    with pytest.raises(FileFormatError, match="Row 3 has a cell longer than 10 characters"):
        read(b"sku,qty\nA,1\n" + b"x" * 11 + b",1\n")


@override_settings(DATA_EXCHANGE_MAX_CELL_LENGTH=10)
def test_header_cell_over_the_limit_is_a_clear_error():
    with pytest.raises(FileFormatError, match="Row 1 has a cell longer than 10 characters"):
        read(b"sku," + b"h" * 11 + b"\nA,1\n")


@pytest.mark.parametrize("content", [b"", b"   ", b"\r\n\r\n"], ids=["empty", "spaces", "newlines"])
def test_empty_file_is_refused(content):
    with pytest.raises(FileFormatError, match="The file is empty"):
        read(content)


def test_blank_header_row_is_refused():
    with pytest.raises(FileFormatError, match="no header row"):
        read(b",,\nA,1,2\n")


def test_header_only_file_has_headers_and_no_rows():
    reader, rows = read(b"sku,qty\r\n")
    assert reader.headers == ["sku", "qty"]
    assert rows == []


@pytest.mark.parametrize("name", ["stock.pdf", "stock.docx", "stock"])
def test_unknown_extension_is_refused_naming_the_allowed_ones(name):
    with pytest.raises(FileFormatError, match=r"not supported: use .*\.csv.*\.xlsx"):
        get_reader(name, io.BytesIO(b"sku\nA\n"))


# --- through a job ---------------------------------------------------------------------------


def previewed(content: bytes, run_on_commit, name: str = "stock.csv"):
    with run_on_commit():
        job = create_job(content, name)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_detected_encoding_is_recorded_on_the_job(catalogue, run_on_commit):
    rows = stock_rows(2)
    rows[0][2] = "Café-€"
    job = previewed(csv_bytes(rows, encoding="cp1252"), run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert job.file_encoding == "cp1252"
    with run_on_commit():
        actions.confirm_import(job)
    from example_project.demo.models import StockRecord

    assert StockRecord.objects.filter(partner_sku="Café-€").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "stock.csv", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "stock.csv", "(it looks like a PNG image)"),
        (b"partner,product\n", "stock.pdf", "not supported"),
    ],
    ids=["empty", "binary", "extension"],
)
def test_unreadable_files_fail_the_preview_with_the_message(
    catalogue, run_on_commit, content, name, message
):
    job = previewed(content, run_on_commit, name)
    assert job.state == JobState.PREVIEW_FAILED
    assert message in job.message
    assert job.preview_finished_at is not None


@pytest.mark.django_db
def test_late_cp1252_byte_restarts_the_preview_in_cp1252(catalogue, run_on_commit):
    content = csv_bytes(stock_rows(3000)) + b"ACME,P-1,caf\xe9,1.00,1,0\r\n"
    assert len(content) > SNIFF_BYTES
    job = previewed(content, run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert job.file_encoding == "cp1252"
    assert (job.total_rows, job.new_rows) == (3001, 3001)
    with run_on_commit():
        actions.confirm_import(job)
    from example_project.demo.models import StockRecord

    assert StockRecord.objects.filter(partner_sku="café").exists()


def test_a_given_encoding_is_not_second_guessed():
    content = b"sku,title\n" + b"a,b\n" * 20000 + b"caf\xe9,x\n"
    reader = get_reader("late.csv", io.BytesIO(content), encoding="utf-8")
    with reader, pytest.raises(FileFormatError, match="not valid utf-8 text") as failure:
        list(reader.iter_rows())
    assert not isinstance(failure.value, EncodingGuessError)


@pytest.mark.parametrize(
    ("rows", "cell"),
    [(300, "plain"), (5000, "plain"), (3000, "ünïcödé ворота")],
    ids=["small-file-read-whole-at-once", "larger-than-the-buffers", "multibyte-text"],
)
def test_the_total_is_estimated_from_the_rows_parsed_so_far(rows, cell):
    lines = "".join(f"{cell} {i:06d},{i:06d}\r\n" for i in range(rows))
    content = f"name,qty\r\n{lines}".encode()
    reader = get_reader("file.csv", io.BytesIO(content))
    with reader:
        parsed = reader.iter_rows()
        for _ in range(rows // 3):
            next(parsed)
        estimate = reader.estimate_total_rows(rows // 3, len(content))
    assert abs(estimate - rows) <= rows * 0.05, estimate


# --- bounded lines (#11) -------------------------------------------------------------------


class EndlessLine(io.RawIOBase):
    """A stream of ``head`` and then ``size`` bytes of ``x`` with no line end, made as read."""

    def __init__(self, head: bytes, size: int) -> None:
        super().__init__()
        self.head, self.left = head, size
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size], self.head = self.head[:size], self.head[size:]
        else:
            size = min(len(buffer), self.left)
            buffer[:size] = b"x" * size
            self.left -= size
        self.served += size
        return size


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"sku,qty\r\nA,1\r\n", "Row 3 is longer than"),
        (b"", "The first line is longer than 1,048,576 characters: it is not a header row"),
    ],
    ids=["data-row", "header"],
)
def test_a_240_mib_line_is_refused_without_being_held(head, message):
    import tracemalloc

    stream = EndlessLine(head, 240 * 1024 * 1024)
    tracemalloc.start()
    try:
        reader = CSVReader(stream, max_cell_length=32767)
        with pytest.raises(FileFormatError, match=message), reader:
            list(reader.iter_rows())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stream.served < 16 * 1024 * 1024  # stopped early: never read the whole line
    assert peak < 24 * 1024 * 1024, peak


@override_settings(DATA_EXCHANGE_MAX_CELL_LENGTH=10)
def test_a_long_line_of_many_short_cells_within_the_bound_is_read():
    # The line bound is generous (cells x columns, quotes doubled): 200 cells of 5 characters.
    header = ",".join(f"c{i}" for i in range(200)).encode()
    line = ",".join(["abcde"] * 200).encode()
    _, rows = read(header + b"\n" + line + b"\n")
    assert len(rows[0][1]) == 200


def test_a_named_encoding_skips_the_binary_check_for_utf16_without_a_bom():
    content = "sku,qty\r\nA,1\r\n".encode("utf-16-le")
    with pytest.raises(FileFormatError, match="it looks like binary data"):
        read(content)
    reader = get_reader("f.csv", io.BytesIO(content), encoding="utf-16-le")
    with reader:
        assert list(reader.iter_rows()) == [(2, ["A", "1"])]


def test_a_named_delimiter_is_used_as_named():
    reader = get_reader("f.csv", io.BytesIO(b"a;b,c\n1;2,3\n"), delimiter=",")
    with reader:
        assert reader.headers == ["a;b", "c"]
        assert reader.delimiter == ","
