"""One upload check for the admin and the API: the same files are refused by both, alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from data_exchange_tool.exceptions import UploadRefusedError
from data_exchange_tool.uploads import MAX_NAME_LENGTH, check_upload
from example_project.demo.models import StockRecordImportJob
from tests.admin.conftest import admin_url
from tests.helpers import csv_bytes, stock_rows, xlsx_bytes

XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64  # an old .xls (OLE2) file


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("stock.pdf", b"%PDF-1.4", "unsupported_format"),
        ("stock.xlsx", XLS_MAGIC, "unreadable_file"),
        ("x" * (MAX_NAME_LENGTH + 1) + ".csv", b"a\n", "max_length"),
    ],
)
def test_refused_uploads_name_their_reason(name, content, code):
    with pytest.raises(UploadRefusedError) as refused:
        check_upload(SimpleUploadedFile(name, content))
    assert refused.value.code == code


def test_accepted_uploads_pass():
    check_upload(SimpleUploadedFile("stock.csv", csv_bytes(stock_rows(1))))
    upload = SimpleUploadedFile("stock.xlsx", xlsx_bytes(stock_rows(1)))
    check_upload(upload)
    assert upload.read(2) == b"PK", "the check leaves the file at its start"


def test_the_size_limit_says_both_sizes(settings):
    settings.DATA_EXCHANGE_MAX_FILE_SIZE = 10
    with pytest.raises(UploadRefusedError, match="the largest accepted is 10"):
        check_upload(SimpleUploadedFile("stock.csv", b"a" * 11))


@pytest.mark.django_db
def test_the_admin_and_the_api_refuse_an_xls_renamed_xlsx_alike(admin_client, admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)
    response = admin_client.post(
        admin_url("add"), {"file": SimpleUploadedFile("stock.xlsx", XLS_MAGIC)}
    )
    assert response.status_code == 200
    assert "not a valid Excel workbook" in response.content.decode()
    api_response = api.post(
        "/api/imports/stock-record/start/",
        {"file": SimpleUploadedFile("stock.xlsx", XLS_MAGIC)},
        format="multipart",
    )
    assert api_response.status_code == 400
    assert api_response.data["file"][0].code == "unreadable_file"
    assert not StockRecordImportJob.objects.exists()


# --- signatures of every format (#11) ------------------------------------------------------

FILES = Path(__file__).resolve().parent / "files"


@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        ("stock.csv", "bad_png_named.csv", "not a CSV text file (it looks like a PNG image)."),
        ("stock.csv", "typical.xlsx", "(it looks like a ZIP archive (an XLSX workbook?))"),
        ("stock.txt", "bad_random.txt", "This is not a CSV text file (it looks like binary data)."),
        ("stock.json", "typical.xls", "This is not a JSON text file (it looks like an OLE2"),
        ("stock.jsonl", "bad_png_named.csv", "This is not a JSON Lines text file"),
        ("stock.xls", "typical.xlsx", "Excel 97-2003 workbook (.xls): it looks like a ZIP"),
        ("stock.xls", "utf8_bom.csv", "(.xls): it looks like text."),
        ("stock.xlsx", "typical.ods", "(.xlsx): it looks like a ZIP archive (an ODS workbook?)"),
        ("stock.ods", "typical.xlsx", "(.ods): it looks like a ZIP archive (an XLSX workbook?)"),
        ("stock.xlsb", "typical.xls", "not a valid Excel binary workbook (.xlsb)"),
    ],
)  # fmt: skip
def test_a_file_that_does_not_fit_its_name_is_refused_saying_what_it_looks_like(
    name, source, message
):
    with pytest.raises(UploadRefusedError) as refused:
        check_upload(SimpleUploadedFile(name, (FILES / source).read_bytes()))
    assert refused.value.code == "unreadable_file"
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("a.xls", "typical.xls"),
        ("a.ods", "typical.ods"),
        ("a.xlsx", "typical.xlsx"),
        ("a.json", "records.json"),
        ("a.jsonl", "records.jsonl"),
        ("a.txt", "utf16le_bom_tab.txt"),
        ("a.csv", "cp932_ja_short.csv"),
        ("a.csv", "nul_in_cell.csv"),  # a NUL in a data row is that row's problem
        ("a.csv", "bad_empty.csv"),  # an empty file: its preview says so
    ],
)
def test_files_that_fit_their_name_pass(name, source):
    check_upload(SimpleUploadedFile(name, (FILES / source).read_bytes()))
