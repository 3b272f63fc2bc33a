"""The add page is an upload form; saving it starts the preview and opens the job's page."""

from __future__ import annotations

from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecordImportJob
from tests.admin.conftest import admin_url, bad_csv
from tests.helpers import csv_bytes, stock_rows, xlsx_bytes


def test_add_page_is_an_upload_form_with_the_expected_columns(admin_client):
    response = admin_client.get(admin_url("add"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'type="file"' in body
    assert 'name="force_import"' in body  # a superuser may confirm, so may force
    assert "Upload and preview" in body
    assert "<code>partner_sku</code>" in body
    assert admin_url("template") in body
    assert "data_exchange_tool/admin.css" in body
    assert " object at 0x" not in body  # nothing renders a Python repr


def test_force_import_is_offered_only_to_people_who_may_confirm(clerk_client):
    body = clerk_client.get(admin_url("add")).content.decode()
    assert 'type="file"' in body
    assert 'name="force_import"' not in body


def test_upload_lands_on_the_job_page_with_the_preview_done(
    admin_client, admin_user, catalogue, upload
):
    response, job = upload(admin_client, csv_bytes(stock_rows(3)))
    assert response.status_code == 302
    assert response.url == admin_url("change", job.pk)
    assert job.created_by == admin_user
    assert job.file_name == "stock.csv"
    assert job.state == JobState.PREVIEW_SUCCEEDED
    assert (job.total_rows, job.new_rows) == (3, 3)


def test_a_clerk_cannot_force_an_import_by_posting_the_field(clerk_client, catalogue, upload):
    _response, job = upload(clerk_client, bad_csv(), force_import="on")
    assert job.force_import is False
    assert job.state == JobState.PREVIEW_SUCCEEDED
    assert job.invalid_rows == 2


def test_a_superuser_may_force_the_import(admin_client, catalogue, upload):
    _response, job = upload(admin_client, bad_csv(), force_import="on")
    assert job.force_import is True


def test_xlsx_uploads_are_accepted(admin_client, catalogue, upload):
    _response, job = upload(admin_client, xlsx_bytes(stock_rows(4)), name="stock.xlsx")
    assert job.state == JobState.PREVIEW_SUCCEEDED
    assert job.new_rows == 4


def test_an_unsupported_file_type_is_refused_on_the_form(admin_client, upload):
    response, job = upload(admin_client, b"%PDF-1.4", name="stock.pdf")
    assert response.status_code == 200
    assert job is None
    assert "are not supported" in response.content.decode()
    assert StockRecordImportJob.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(admin_client, upload, settings):
    settings.DATA_EXCHANGE_MAX_FILE_SIZE = 10
    response, job = upload(admin_client, csv_bytes(stock_rows(3)))
    assert job is None
    assert "the largest accepted is" in response.content.decode()


def test_uploading_needs_the_add_permission(make_staff, upload):
    from django.test import Client

    client = Client()
    client.force_login(make_staff("viewer", "demo.view_stockrecordimportjob"))
    assert client.get(admin_url("add")).status_code == 403
    response, job = upload(client, csv_bytes(stock_rows(1)))
    assert response.status_code == 403
    assert job is None
