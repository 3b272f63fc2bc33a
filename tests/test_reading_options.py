"""The encoding and the delimiter named on upload: admin, API, command and actions alike (#11)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from data_exchange_tool import actions
from data_exchange_tool.exceptions import UploadRefusedError
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import JobState
from data_exchange_tool.uploads import clean_delimiter, clean_encoding
from example_project.demo.models import StockRecord, StockRecordImportJob
from tests.helpers import STOCK_HEADERS, csv_bytes, stock_rows

pytestmark = pytest.mark.django_db

SKU = "Ёж-1: съешь же ещё этих мягких французских булок"


def cyrillic_csv() -> bytes:
    """A cp1251 file with ';'."""
    rows = stock_rows(2)
    rows[0][2] = "Ёж-1: съешь же ещё этих мягких французских булок"
    rows[1][2] = "Да выпей же чаю, Москва"
    return csv_bytes(rows, delimiter=";", encoding="cp1251")


def test_the_checks_name_python_codecs_and_the_offered_delimiters():
    assert clean_encoding(" Windows-1251 ") == "cp1251"
    assert clean_encoding("") == clean_encoding(None) == ""
    with pytest.raises(UploadRefusedError, match="Unknown text encoding 'klingon'") as refused:
        clean_encoding("klingon")
    assert refused.value.code == "invalid_encoding"
    assert clean_delimiter("tab") == clean_delimiter("\\t") == clean_delimiter("\t") == "\t"
    assert clean_delimiter("") == ""
    with pytest.raises(UploadRefusedError, match="Unknown delimiter ':'") as refused:
        clean_delimiter(":")
    assert refused.value.code == "invalid_delimiter"


def test_actions_record_the_choice_and_the_preview_reads_with_it(catalogue, run_on_commit):
    with run_on_commit():
        job = actions.start_import(
            StockRecordImportJob,
            SimpleUploadedFile("stock.csv", cyrillic_csv()),
            encoding="windows-1251",
            delimiter=";",
        )
    job.refresh_from_db()
    assert job.options == {"encoding": "cp1251", "delimiter": ";"}
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.file_encoding, job.file_delimiter) == ("cp1251", ";")
    assert job.preview_rows.order_by("row_number").first().values["partner_sku"] == SKU


def test_the_import_reads_with_what_the_preview_recorded(catalogue, run_on_commit):
    with run_on_commit():
        job = actions.start_import(
            StockRecordImportJob, SimpleUploadedFile("stock.csv", cyrillic_csv())
        )
    job.refresh_from_db()
    assert (job.file_encoding, job.file_delimiter) == ("cp1251", ";")
    job.options = {"encoding": "utf-8", "delimiter": ","}  # what the preview used still counts
    job.save()
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert StockRecord.objects.filter(partner_sku=SKU).exists()


def test_a_wrong_encoding_named_on_upload_fails_the_preview_saying_so(catalogue, run_on_commit):
    with run_on_commit():
        job = actions.start_import(
            StockRecordImportJob,
            SimpleUploadedFile("stock.csv", "partner,sku\nACME,\u00e9\n".encode("cp1252")),
            encoding="utf-8",
        )
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_FAILED
    assert "not valid utf-8 text (byte 0xE9 cannot be decoded): choose its encoding" in job.message


def test_a_named_delimiter_wins_over_the_sniffed_one(catalogue, run_on_commit):
    content = csv_bytes([["ACME", "P-1", "A;1", "1.50", 1, 0]], delimiter=",")
    with run_on_commit():
        job = actions.start_import(
            StockRecordImportJob, SimpleUploadedFile("stock.csv", content), delimiter="|"
        )
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_FAILED  # read as one column: the fields are missing
    assert "Missing required column(s)" in job.message


def test_import_file_takes_them(catalogue, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_bytes(cyrillic_csv())
    out = io.StringIO()
    call_command(
        "import_file", "StockRecordImportJob", str(path), "--encoding", "cp1251",
        "--delimiter", ";", stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    assert "imported 2 row(s)" in out.getvalue()
    job = ImportJob.objects.get()
    assert (job.file_encoding, job.file_delimiter) == ("cp1251", ";")
    with pytest.raises(CommandError, match="Unknown text encoding 'klingon'"):
        call_command("import_file", "StockRecordImportJob", str(path), "--encoding", "klingon")


def test_duplicate_headers_fail_the_preview_naming_them(catalogue, run_on_commit):
    content = csv_bytes(stock_rows(1), [*STOCK_HEADERS[:3], "Price", "price", *STOCK_HEADERS[4:]])
    with run_on_commit():
        job = actions.start_import(StockRecordImportJob, SimpleUploadedFile("stock.csv", content))
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_FAILED
    assert job.message == (
        "The header row names this column more than once: Price. Give each column its own header."
    )


def test_a_nul_in_a_related_field_is_that_rows_error(catalogue, run_on_commit):
    rows = stock_rows(3)
    rows[1][0] = "AC\x00ME"  # the partner, a SlugRelatedField: never sent to the database
    with run_on_commit():
        job = actions.start_import(
            StockRecordImportJob, SimpleUploadedFile("stock.csv", csv_bytes(rows))
        )
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.new_rows, job.invalid_rows) == (2, 1)
    error = job.row_errors.get()
    assert (error.row_number, error.column) == (3, "partner")
    assert error.message == "The cell contains a NUL character."
    assert error.values["partner"] == "AC\ufffdME"
