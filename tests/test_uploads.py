"""One upload check for the admin and the API: the same files are refused by both, alike."""

from __future__ import annotations

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
