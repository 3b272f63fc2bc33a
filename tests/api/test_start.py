"""POST imports/<slug>/start/: the upload, its options, and what is refused at once (400)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord
from tests.api.conftest import STOCK
from tests.helpers import csv_bytes, stock_rows, xlsx_bytes


def test_start_creates_the_job_and_runs_its_preview(upload, alice, catalogue):
    response = upload(csv_bytes(stock_rows(3)))

    assert response.status_code == 201, response.data
    body = response.json()
    job = ImportJob.objects.get(pk=body["id"])
    assert job.created_by == alice
    assert job.file_name == "stock.csv"
    assert body["job_type"] == "demo.stockrecordimportjob"
    # The 201 shows the job as the request left it; the preview ran on commit.
    assert job.state == JobState.PREVIEW_SUCCEEDED
    assert (job.total_rows, job.new_rows) == (3, 3)
    assert StockRecord.objects.count() == 0


def test_start_stores_the_options(upload, catalogue):
    body = upload(csv_bytes(stock_rows(2)), force_import="true").json()

    job = ImportJob.objects.get(pk=body["id"])
    assert job.force_import is True
    assert job.options == {"skip_preview_confirmation": False}
    assert body["force_import"] is True
    assert body["skip_preview_confirmation"] is False


def test_skip_preview_confirmation_imports_after_a_clean_preview(upload, api, catalogue):
    body = upload(csv_bytes(stock_rows(4)), skip_preview_confirmation="true").json()

    job = api.get(f"{STOCK}{body['id']}/").json()
    assert job["state"] == JobState.IMPORT_SUCCEEDED
    assert job["skip_preview_confirmation"] is True
    assert job["confirmed_by"] == "alice"
    assert StockRecord.objects.count() == 4


def test_skip_preview_confirmation_waits_when_the_preview_finds_invalid_rows(
    upload, api, catalogue
):
    rows = [*stock_rows(2), ["ACME", "P-1", "BAD", "not a price", 1, 0]]
    body = upload(csv_bytes(rows), skip_preview_confirmation="true").json()

    job = api.get(f"{STOCK}{body['id']}/").json()
    assert job["state"] == JobState.PREVIEW_SUCCEEDED
    assert job["counts"]["invalid"] == 1
    assert "invalid row" in job["confirm_refusal"]
    assert StockRecord.objects.count() == 0


def test_skip_preview_confirmation_with_force_import_skips_the_invalid_rows(upload, api, catalogue):
    rows = [*stock_rows(2), ["ACME", "P-1", "BAD", "not a price", 1, 0]]
    body = upload(csv_bytes(rows), skip_preview_confirmation="true", force_import="true").json()

    job = api.get(f"{STOCK}{body['id']}/").json()
    assert job["state"] == JobState.IMPORT_SUCCEEDED
    assert StockRecord.objects.count() == 2


def test_an_xlsx_upload_is_previewed(upload, api, catalogue):
    body = upload(xlsx_bytes(stock_rows(3)), name="stock.xlsx").json()

    job = api.get(f"{STOCK}{body['id']}/").json()
    assert job["state"] == JobState.PREVIEW_SUCCEEDED
    assert job["counts"]["new"] == 3


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("stock.pdf", b"%PDF-1.4", "unsupported_format"),
        ("stock", b"a,b\r\n1,2\r\n", "unsupported_format"),
        ("stock.csv", b"", "empty"),
        ("stock.xlsx", b"partner,product\r\nACME,P-1\r\n", "unreadable_file"),
        ("stock.XLSM", b"\x00\x01", "unreadable_file"),
    ],
)
def test_a_file_that_can_never_be_read_is_refused_at_upload(upload, name, content, code):
    response = upload(content, name=name)

    assert response.status_code == 400
    assert response.data["file"][0].code == code
    assert ImportJob.objects.count() == 0


def test_a_file_larger_than_the_limit_is_refused_at_upload(upload):
    with override_settings(DATA_EXCHANGE_MAX_FILE_SIZE=20):
        response = upload(csv_bytes(stock_rows(3)))

    assert response.status_code == 400
    assert response.data["file"][0].code == "file_too_large"
    assert "largest accepted is 20" in str(response.data["file"][0])
    assert ImportJob.objects.count() == 0


def test_a_missing_file_is_a_400(api):
    response = api.post(f"{STOCK}start/", {"force_import": "true"}, format="multipart")

    assert response.status_code == 400
    assert response.data["file"][0].code == "required"


def test_a_file_name_too_long_for_the_storage_is_a_400(upload):
    response = upload(csv_bytes(stock_rows(1)), name="x" * 300 + ".csv")

    assert response.status_code == 400
    assert response.data["file"][0].code == "max_length"


def test_a_file_unreadable_only_when_read_fails_its_preview_with_the_message(
    upload, api, catalogue
):
    body = upload(b"colour,size\r\nred,4\r\n").json()

    job = api.get(f"{STOCK}{body['id']}/").json()
    assert job["state"] == JobState.PREVIEW_FAILED
    assert "Missing required column" in job["message"]
    assert job["is_final"] is False


def test_a_json_body_is_refused_with_415(api):
    response = api.post(f"{STOCK}start/", {"file": "x"}, format="json")

    assert response.status_code == 415
