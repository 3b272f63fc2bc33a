"""Real files (``tests/files``: by LibreOffice, or byte-exact by ``make_files.py``), cell by cell.

Each file is read by its reader and compared with ``<name>.expected.json`` (the text a person sees),
then, where it makes sense, previewed and imported end to end: every ANSI code page Excel writes on
Windows (Europe, Hebrew, Arabic, Baltic, Vietnamese, Thai, Japanese, Chinese, Korean), Mac Roman,
KOI8-R, ISO-8859-2, UTF-16 and UTF-32 with a BOM, quoted delimiters, zero-padded and
fixed-decimal formats, dates and date-times, JSON. No text sample is misread (issue 11): each is
read right, or refused naming the readings it allows.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from data_exchange_tool import actions
from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers import get_reader
from data_exchange_tool.states import JobState
from tests.helpers import create_job
from tests.imports.readers.corpus import measure, samples, seeded_samples
from tests.testapp.models import AnyFileImportJob, Sample, SampleImportJob

FILES = Path(__file__).resolve().parents[2] / "files"
MANIFEST = json.loads((FILES / "MANIFEST.json").read_text(encoding="utf-8"))


def expected_of(name: str) -> dict:
    """Return a file's expectation: its own ``expected.json``, or its text in its codec."""
    path = FILES / f"{name}.expected.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    entry = MANIFEST[name]
    text = (FILES / name).read_bytes().decode(entry["encoding"])
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=entry["delimiter"]))
    return {"headers": rows[0], "rows": rows[1:]}


def read(name: str, content: bytes | None = None, **given: str):
    """Return ``(reader, headers, rows)`` of a file (its bytes from ``tests/files`` by default)."""
    data = (FILES / name).read_bytes() if content is None else content
    reader = get_reader(name, io.BytesIO(data), **given)
    with reader:
        rows = [cells for _, cells in reader.iter_rows()]
    return reader, reader.headers, rows


def padded(rows: list[list[str]], width: int) -> list[list[str]]:
    """Return rows without trailing empty cells past ``width``, padded to ``width``."""
    result = []
    for row in rows:
        cells = list(row)
        while len(cells) > width and cells[-1] == "":
            cells.pop()
        result.append(cells + [""] * (width - len(cells)))
    return result


READABLE = sorted(name for name in MANIFEST if "error" not in expected_of(name))
REFUSED = sorted(name for name in MANIFEST if "error" in expected_of(name))


def test_the_files_are_the_ones_the_manifest_lists():
    on_disk = {p.name for p in FILES.iterdir() if p.suffix not in (".json", ".py")}
    on_disk |= {p.name for p in FILES.glob("*.json") if ".expected" not in p.name}
    assert on_disk - {"MANIFEST.json"} == set(MANIFEST)
    assert len(READABLE) >= 40


@pytest.mark.parametrize("name", READABLE)
def test_every_cell_reads_as_expected(name):
    expected = expected_of(name)
    reader, headers, rows = read(name)
    assert headers == expected["headers"]
    wanted = [row for row in expected["rows"] if any(cell.strip() for cell in row)]
    assert padded(rows, len(headers)) == padded(wanted, len(headers))
    entry = MANIFEST[name]
    if "encoding" in entry:  # text files: the encoding and the delimiter were found
        data = (FILES / name).read_bytes()
        assert codecs.lookup(reader.encoding).name in (
            codecs.lookup(entry["encoding"]).name,
            "utf-16",
            "utf-32",
            "utf-8-sig",
        ) or data.decode(reader.encoding) == data.decode(entry["encoding"])  # GBK as GB18030
        assert reader.delimiter == entry["delimiter"]


@pytest.mark.parametrize("size", ["short", "long"])
def test_czech_iso_8859_2_is_told_from_cp1250(size):
    # Czech text reads alike in ISO-8859-2 and cp1250 but for š ť ž Š Ť Ž, which sit at other
    # bytes: cp1250 reads them as ą » ľ, letters no one language has with Czech's (the fit of the
    # letters to an alphabet decides; charset-normalizer alone read cp1250, a known limit then).
    name = f"iso8859_2_cs_{size}.csv"
    reader, _, _ = read(name)
    assert reader.encoding == "iso8859-2"
    assert read(f"cp1250_cs_{size}.csv")[0].encoding == "cp1250"
    expected = expected_of(name)
    reader, headers, rows = read(name, encoding="iso8859-2")
    assert (headers, rows) == (expected["headers"], expected["rows"])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_blank.csv", "The file is empty."),
        ("bad_empty.csv", "The file is empty."),
        ("bad_duplicate_headers.csv", "names these columns more than once: id, name."),
        ("bad_png_named.csv", "This is not a CSV text file (it looks like a PNG image)."),
        ("bad_zip_named.csv", "This is not a CSV text file (it looks like a ZIP archive)."),
        ("bad_random.txt", "This is not a CSV text file (it looks like binary data)."),
        ("bad_duplicate_key.json", "Object 1 has the key 'id' twice."),
        ("bad_not_array.json", "must hold an array of objects"),
        ("bad_line.jsonl", "Line 2 is not a JSON object"),
        (
            "cp1255_he_customers_short.csv",
            "it reads as Hebrew (windows-1255) or as Russian (KOI8-R), and its text does not show "
            "which is right. Choose its encoding on upload (the 'Text encoding' field, or "
            "'encoding' in the API: cp1255 or koi8-r)",
        ),
        (
            "cp1253_el_ambiguous_short.csv",
            "it reads as Greek (windows-1253) or as Cyrillic (windows-1251), and its text does not "
            "show which is right. Choose its encoding on upload (the 'Text encoding' field, or "
            "'encoding' in the API: cp1253 or cp1251)",
        ),
    ],
)
def test_bad_files_are_refused_in_words(name, message):
    assert name in REFUSED
    with pytest.raises(FileFormatError) as refused:
        read(name)
    assert message in str(refused.value)
    assert not any(ord(char) < 32 for char in str(refused.value))


def test_no_text_sample_is_misread():
    # Every text file, and the head of every long one, is read right or refused (issue 11: the
    # 4-row Hebrew customer list read as KOI8-R capitals, Hungarian ő ű as õ û, Chinese as
    # Cyrillic), and refused only where its expectation says so.
    outcomes = [measure(sample) for sample in samples()]
    wrong = [(o.sample.name, o.found) for o in outcomes if o.verdict == "wrong"]
    refused = {o.sample.name for o in outcomes if o.verdict == "refused"}
    assert wrong == []
    assert refused == {name for name in REFUSED if "encoding" in MANIFEST[name]}
    assert len(outcomes) >= 130


def test_no_sample_made_with_other_seeds_is_misread():
    # 4-row and 30-row files of every legacy language, with words drawn by other seeds.
    outcomes = [measure(sample) for sample in seeded_samples(3)]
    assert len(outcomes) == 37 * 3 * 2
    assert [(o.sample.name, o.found) for o in outcomes if o.verdict == "wrong"] == []
    assert sum(o.verdict == "right" for o in outcomes) >= 0.97 * len(outcomes)


@pytest.mark.parametrize(
    ("source", "name", "message"),
    [
        ("typical.xlsx", "stock.csv", "it looks like a ZIP archive (an XLSX workbook?)"),
        ("typical.xls", "stock.csv", "it looks like an OLE2 compound file (an XLS workbook?)"),
        ("typical.ods", "stock.csv", "it looks like a ZIP archive (an ODS workbook?)"),
        ("typical.xlsx", "stock.json", "This is not a JSON text file (it looks like a ZIP"),
        ("typical.xls", "stock.xlsx", "not a valid XLSX workbook (it looks like an OLE2"),
        ("typical.xlsx", "stock.xls", "an XLSX workbook saved under an .xls name"),
        ("typical.xlsx", "stock.ods", "not an ODS workbook (no content.xml inside)"),
    ],
)
def test_workbooks_under_another_name_are_refused(source, name, message):
    with pytest.raises(FileFormatError) as refused:
        read(name, (FILES / source).read_bytes())
    assert message in str(refused.value)


# --- end to end ----------------------------------------------------------------------------


def previewed(name: str, job_type, run_on_commit, **fields):
    with run_on_commit():
        job = create_job((FILES / name).read_bytes(), name, job_type=job_type, **fields)
    job.refresh_from_db()
    return job


TEXT_FILES = [
    name for name in READABLE if MANIFEST[name].get("encoding") and not name.endswith("_long.csv")
] + ["records.json", "records.jsonl"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", TEXT_FILES)
def test_a_preview_keeps_each_rows_text(name, run_on_commit):
    expected = expected_of(name)
    job = previewed(name, AnyFileImportJob, run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    entry = MANIFEST.get(name, {})
    if "delimiter" in entry:
        assert job.file_delimiter == entry["delimiter"]
    assert job.file_headers == expected["headers"]
    sample = {row.row_number: row.values for row in job.preview_rows.all()}
    wanted = [row for row in expected["rows"] if any(cell.strip() for cell in row)]
    assert len(sample) == len(wanted) == job.total_rows
    for values, row in zip((sample[n] for n in sorted(sample)), wanted, strict=True):
        cells = dict(zip(expected["headers"], row + [""] * len(expected["headers"]), strict=False))
        assert values == {h: t.replace("\x00", "\ufffd") for h, t in cells.items() if h}


@pytest.mark.django_db
def test_an_ambiguous_encoding_fails_the_preview_and_reads_right_once_chosen(run_on_commit):
    name = "cp1253_el_ambiguous_short.csv"
    job = previewed(name, AnyFileImportJob, run_on_commit)
    assert job.state == JobState.PREVIEW_FAILED
    assert "reads as Greek (windows-1253) or as Cyrillic (windows-1251)" in job.message
    assert "choose its encoding on upload" in job.message.lower()
    with run_on_commit():  # as the upload form and the API pass what the person chose
        job = actions.start_import(
            AnyFileImportJob,
            SimpleUploadedFile(name, (FILES / name).read_bytes()),
            encoding="windows-1253",
        )
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert job.file_encoding == "cp1253"
    text = (FILES / name).read_bytes().decode("cp1253")
    headers, *rows = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    assert job.file_headers == headers
    first = job.preview_rows.order_by("row_number").first().values
    assert first == dict(zip(headers, rows[0], strict=True))


TYPICAL_STORED = [
    # code, zip, price, quantity, ratio, date, updated, name, active, note
    ("00123", "00123", "1.50", 3, "3.14159", "2024-03-05", "2024-03-05T14:30:00", True),
    ("0042", "00007", "2.00", 10, "0.5", "1999-12-31", "2024-12-31T23:59:59", False),
    ("007", "12345", "1234.50", 1000000, "2.25", "2000-02-29", "2024-01-01T00:00:00", True),
]


@pytest.mark.django_db
@pytest.mark.parametrize("extension", ["xlsx", "xls", "ods"])
def test_typical_workbooks_import_their_codes_prices_and_dates(extension, run_on_commit):
    job = previewed(f"typical.{extension}", SampleImportJob, run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.total_rows, job.new_rows, job.invalid_rows) == (11, 11, 0), list(
        job.row_errors.values_list("row_number", "column", "message")
    )
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    stored = list(Sample.objects.order_by("pk"))
    for sample, (code, zip_, price, qty, ratio, day, moment, active) in zip(
        stored, TYPICAL_STORED, strict=False
    ):
        assert (sample.code, sample.zip, sample.price, sample.quantity) == (
            code,
            zip_,
            Decimal(price),
            qty,
        )
        assert sample.ratio == Decimal(ratio)
        assert sample.date == datetime.date.fromisoformat(day)
        assert sample.updated == datetime.datetime.fromisoformat(moment).replace(
            tzinfo=datetime.UTC
        )
        assert sample.active is active
    assert stored[3].note == "line one\nline two"
    assert stored[9].date is None
    assert stored[9].active is True
