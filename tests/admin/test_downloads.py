"""Downloads: the uploaded file, the error report (CSV or XLSX) and the template; progress JSON."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from data_exchange_tool.states import JobState
from tests.admin.conftest import admin_url, bad_rows
from tests.helpers import STOCK_HEADERS, create_job, csv_bytes, stock_rows, xlsx_bytes


def content_of(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content_of(response).decode("utf-8-sig"))))


def test_the_uploaded_file_is_streamed_back(admin_client, catalogue, upload):
    data = csv_bytes(stock_rows(3))
    _response, job = upload(admin_client, data, name="my stock.csv")
    response = admin_client.get(admin_url("file", job.pk))
    assert response.status_code == 200
    assert response.streaming
    assert content_of(response) == data
    assert 'filename="my stock.csv"' in response["Content-Disposition"]


def test_the_csv_error_report_holds_the_invalid_rows_and_why(admin_client, catalogue, upload):
    rows = [*bad_rows(), ["=HYPERLINK(1)", "P-1", "@SUM", "-5", "-1", "+3"]]
    _response, job = upload(admin_client, csv_bytes(rows))
    assert job.invalid_rows == 3
    response = admin_client.get(admin_url("errors", job.pk))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="stock-errors.csv"' in response["Content-Disposition"]
    report = csv_rows(response)
    assert report[0] == [*STOCK_HEADERS, "errors"]
    assert [row[0] for row in report[1:]] == ["Nobody", "ACME", "'=HYPERLINK(1)"]
    assert report[1][6].startswith("partner: ")
    assert report[2][6] == "More allocated than in stock."
    # formula-like text is quoted, numbers (even with a sign) are not
    assert report[3][2:6] == ["'@SUM", "-5", "-1", "+3"]


def test_the_error_report_can_be_fixed_and_uploaded_again(admin_client, catalogue, upload):
    _response, job = upload(admin_client, csv_bytes(bad_rows()))
    report = csv_rows(admin_client.get(admin_url("errors", job.pk)))
    fixed = [["ACME", *row[1:5], "0"] for row in report[1:]]
    _response, again = upload(admin_client, csv_bytes(fixed, headers=report[0][:6]))
    assert again.state == JobState.PREVIEW_SUCCEEDED
    assert (again.new_rows, again.invalid_rows) == (2, 0)


def test_an_xlsx_upload_gets_an_xlsx_error_report(admin_client, catalogue, upload):
    _response, job = upload(admin_client, xlsx_bytes(bad_rows()), name="stock.xlsx")
    response = admin_client.get(admin_url("errors", job.pk))
    assert 'filename="stock-errors.xlsx"' in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(content_of(response)), read_only=True).worksheets[0]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == [*STOCK_HEADERS, "errors"]
    assert [row[0] for row in values[1:]] == ["Nobody", "ACME"]


def test_one_row_with_several_errors_is_one_report_row(admin_client, catalogue, upload):
    rows = [["Nobody", "P-404", "SKU-1", "x", 1, 0]]
    _response, job = upload(admin_client, csv_bytes(rows))
    assert job.row_errors.count() >= 3
    report = csv_rows(admin_client.get(admin_url("errors", job.pk)))
    assert len(report) == 2
    assert "partner: " in report[1][6]
    assert "product: " in report[1][6]
    assert "price: " in report[1][6]


def test_the_template_has_the_serializer_columns(admin_client):
    response = admin_client.get(admin_url("template"))
    assert response.status_code == 200
    assert csv_rows(response) == [STOCK_HEADERS]
    xlsx = admin_client.get(admin_url("template"), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(content_of(xlsx)), read_only=True).worksheets[0]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [STOCK_HEADERS]


def test_the_template_uses_the_file_column_names_of_the_mapping():
    from data_exchange_tool.imports.reports import template_columns
    from tests.testapp.models import TagImportJob

    assert template_columns(TagImportJob)[0] == "Tag code"


def test_the_progress_endpoint_reports_state_and_counts(admin_client, catalogue, upload):
    _response, job = upload(admin_client, csv_bytes(bad_rows()))
    data = admin_client.get(admin_url("progress", job.pk)).json()
    assert data["state"] == "PREVIEW_SUCCEEDED"
    assert data["running"] is False
    assert data["polling"] is False
    assert data["percent"] == 100
    assert (data["done"], data["total"]) == (4, 4)
    assert data["counts"] == {"total": 4, "new": 2, "updated": 0, "unchanged": 0, "invalid": 2}


def test_the_progress_endpoint_of_a_queued_job(admin_client, catalogue):
    job = create_job(csv_bytes(stock_rows(2)))
    response = admin_client.get(admin_url("progress", job.pk))
    assert response["Cache-Control"].startswith("max-age=0")
    data = response.json()
    assert (data["state"], data["polling"], data["percent"]) == ("CREATED", True, 0)


def test_downloads_need_the_view_permission(make_staff, catalogue):
    from django.test import Client

    job = create_job(csv_bytes(stock_rows(1)))
    client = Client()
    client.force_login(make_staff("nobody"))
    for name in ("file", "errors"):
        assert client.get(admin_url(name, job.pk)).status_code == 403
    assert client.get(admin_url("template")).status_code == 403
