"""The job page as a person reads and acts on it: the table, one-click skip, asking first,
the result, live progress, and the "Import" button of the target's changelist."""

from __future__ import annotations

import pytest
from django.test import Client

from data_exchange_tool.admin import GenericImporterModelAdmin
from data_exchange_tool.admin.imports import auto_now_field
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord
from tests.admin.conftest import admin_url, bad_csv, bad_rows
from tests.helpers import create_job, csv_bytes, stock_rows


def page_of(client, job, **query):
    response = client.get(admin_url("change", job.pk), query)
    assert response.status_code == 200
    return response.content.decode()


def imported(client, run_on_commit, upload, rows):
    _response, job = upload(client, csv_bytes(rows))
    with run_on_commit():
        client.post(admin_url("confirm", job.pk))
    job.refresh_from_db()
    return job


def test_skip_invalid_asks_first_then_imports_the_valid_rows_in_one_click(
    admin_client, catalogue, upload, run_on_commit
):
    _response, job = upload(admin_client, bad_csv())
    body = page_of(admin_client, job)
    assert "Import the 2 valid rows (skip 2 invalid)" in body
    assert f'action="{admin_url("ask_skip", job.pk)}"' in body
    # the question is a GET page whose form POSTs (works without JavaScript)
    ask = admin_client.get(admin_url("ask_skip", job.pk))
    assert ask.status_code == 200
    html = ask.content.decode()
    assert "Import the 2 valid rows and skip the 2 invalid rows?" in html
    assert f'action="{admin_url("confirm", job.pk)}"' in html
    assert 'name="skip_invalid" value="1"' in html
    assert "csrfmiddlewaretoken" in html
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED  # asking changed nothing
    with run_on_commit():
        response = admin_client.post(admin_url("confirm", job.pk), {"skip_invalid": "1"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert job.force_import
    assert StockRecord.objects.count() == 2
    page = page_of(admin_client, job)
    assert "2 created, 0 updated, 0 unchanged, 2 skipped." in page
    # the import's own errors, in their own section, each once; the preview's stay in its table
    assert page.count('class="dxt-import-error-row"') == 2
    assert "The import skipped these rows (2 problems)" in page
    assert "Import the 2 valid rows" not in page
    assert "already imported" not in page


def test_skip_is_offered_only_to_confirmers_and_only_with_valid_rows(
    admin_client, clerk_client, catalogue, upload
):
    _response, job = upload(clerk_client, bad_csv())
    assert "valid rows (skip" not in page_of(clerk_client, job)
    assert clerk_client.get(admin_url("ask_skip", job.pk)).status_code == 403
    assert clerk_client.post(admin_url("confirm", job.pk), {"skip_invalid": "1"}).status_code == 403
    _response, all_bad = upload(admin_client, csv_bytes(bad_rows()[2:]))
    assert "valid rows (skip" not in page_of(admin_client, all_bad)
    assert admin_client.get(admin_url("ask_skip", all_bad.pk)).status_code == 302


def test_cancel_asks_first(admin_client, catalogue, upload):
    _response, job = upload(admin_client, csv_bytes(stock_rows(2)))
    body = page_of(admin_client, job)
    assert f'method="get" action="{admin_url("ask_cancel", job.pk)}"' in body
    ask = admin_client.get(admin_url("ask_cancel", job.pk)).content.decode()
    assert "Are you sure you want to cancel this job?" in ask
    assert "This cannot be undone" in ask
    assert f'action="{admin_url("cancel", job.pk)}"' in ask
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED
    admin_client.post(admin_url("cancel", job.pk))
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    # nothing left to cancel: the question sends back to the job
    assert admin_client.get(admin_url("ask_cancel", job.pk)).status_code == 302


def test_the_table_follows_the_files_columns_and_says_where_it_is_cut(
    admin_client, catalogue, upload, settings
):
    settings.DATA_EXCHANGE_PREVIEW_SAMPLE_SIZE = 2
    headers = ["num_in_stock", "partner_sku", "partner", "product", "price", "num_allocated"]
    rows = [[5, f"SKU-{i}", "ACME", "P-1", "1.00", 0] for i in range(5)]
    _response, job = upload(admin_client, csv_bytes(rows, headers=headers))
    body = page_of(admin_client, job, show="new")
    order = [body.index(f"<th>{header}</th>") for header in headers]
    assert order == sorted(order), "the columns come in the file's order"
    assert "Showing a sample: the first 2 of 5 new rows." in body
    assert "Showing 2 of 5 rows" in page_of(admin_client, job, show="all")


def test_invalid_and_updated_rows_are_kept_up_to_the_setting(
    admin_client, catalogue, upload, settings
):
    settings.DATA_EXCHANGE_PREVIEW_KEEP_ROWS = 3
    rows = [["Nobody", "P-1", f"SKU-{i}", "1.00", 1, 0] for i in range(5)]
    _response, job = upload(admin_client, csv_bytes(rows))
    assert job.preview_rows.filter(action="invalid").count() == 3
    assert job.row_errors.count() == 5  # the error report keeps them all
    body = page_of(admin_client, job)
    assert "Showing the first 3 of 5 invalid rows; the error report has them all." in body


def test_row_level_errors_show_beside_the_identity(admin_client, catalogue, upload):
    _response, job = upload(admin_client, bad_csv())
    body = page_of(admin_client, job)
    assert "More allocated than in stock." in body  # a non-field error: the row's own problem
    assert body.count('class="dxt-action dxt-action-invalid"') == 2


def test_the_link_falls_back_to_the_whole_changelist_for_many_rows(
    admin_client, catalogue, upload, run_on_commit, monkeypatch
):
    monkeypatch.setattr(GenericImporterModelAdmin, "link_rows", 1)
    job = imported(admin_client, run_on_commit, upload, stock_rows(3))
    assert job.written_pks is not None
    assert len(job.written_pks) == 3
    body = page_of(admin_client, job)
    assert 'href="/admin/demo/stockrecord/"' in body  # no auto_now field on StockRecord
    assert "See the imported stock records" in body


def test_the_import_remembers_at_most_200_written_rows(catalogue, run_on_commit, monkeypatch):
    from data_exchange_tool import actions
    from data_exchange_tool.imports import pipeline

    monkeypatch.setattr(pipeline, "WRITTEN_PKS_KEPT", 2)
    with run_on_commit():
        job = create_job(csv_bytes(stock_rows(3)))
    job.refresh_from_db()
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED
    assert job.written_pks is None


def test_auto_now_fields_are_found():
    from data_exchange_tool.models import ImportJob

    assert auto_now_field(ImportJob) == "updated_at"
    assert auto_now_field(StockRecord) is None


def test_the_progress_endpoint_says_the_phase_and_the_counts(admin_client, catalogue):
    job = create_job(csv_bytes(stock_rows(2)))  # queued: no commit, no task
    data = admin_client.get(admin_url("progress", job.pk)).json()
    assert (data["phase"], data["percent"]) == ("queued", 0)
    assert data["phase_label"].startswith("Queued")
    type(job).objects.filter(pk=job.pk).update(
        state=JobState.PREVIEW_IN_PROGRESS,
        preview_started_at=job.created_at,
        progress_done=1000,
        progress_total=4000,
        new_rows=990,
        invalid_rows=10,
        total_rows=1000,
    )
    data = admin_client.get(admin_url("progress", job.pk)).json()
    assert data["phase"] == "validating"
    assert data["phase_label"] == "Checking rows: 1,000 / 4,000 rows"
    assert data["counts"]["new"] == 990
    assert data["counts"]["invalid"] == 10
    assert data["seconds_left"] is not None
    assert data["detail"].startswith("1,000 / 4,000 rows · about ")
    page = page_of(admin_client, job)
    assert 'data-step="validating"' in page
    assert "dxt-step dxt-step-current" in page


@pytest.fixture
def stock_changelist_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_targets_changelist_has_an_import_button(admin_client, catalogue):
    acme, product = catalogue["partners"][0], catalogue["products"][0]
    StockRecord.objects.create(partner=acme, product=product, partner_sku="S-1")
    # two job types write stock records in the tests: the button opens a choice page
    body = admin_client.get("/admin/demo/stockrecord/").content.decode()
    assert 'class="dxt-import-link"' in body
    assert 'href="/admin/demo/stockrecord/import/"' in body
    assert "export_as_csv" in body  # the export half
    choice = admin_client.get("/admin/demo/stockrecord/import/").content.decode()
    assert 'href="/admin/demo/stockrecordimportjob/add/"' in choice
    assert 'href="/admin/testapp/slowstockrecordimportjob/add/"' in choice
    # one job type: straight to its upload page
    products = admin_client.get("/admin/demo/product/").content.decode()
    assert 'href="/admin/demo/productimportjob/add/"' in products


def test_the_import_button_needs_the_add_permission(make_staff, catalogue):
    user = make_staff("viewer", "demo.view_stockrecord")
    client = Client()
    client.force_login(user)
    assert "dxt-import-link" not in client.get("/admin/demo/stockrecord/").content.decode()
    assert client.get("/admin/demo/stockrecord/import/").status_code == 403


def test_a_many_to_many_change_shows_the_items_kept_removed_and_added(admin_client, run_on_commit):
    from tests.imports.test_relations import ARTIST_HEADERS, ARTISTS, imported, previewed
    from tests.testapp.models import ArtistImportJob, Band

    for title in ("Walter-Hodges", "Ortiz-Hughes", "Nguyen-Baker"):
        Band.objects.create(title=title)
    imported(csv_bytes(ARTISTS, ARTIST_HEADERS), run_on_commit, ArtistImportJob)
    rows = [["Ann", "Walter-Hodges:1971-09-22;Nguyen-Baker:2020-10-10"]]
    job = previewed(csv_bytes(rows, ARTIST_HEADERS), run_on_commit, ArtistImportJob)
    url = admin_url("change", job.pk, prefix="testapp_artistimportjob")
    body = admin_client.get(url, {"show": "updated"}).content.decode()
    assert '<span class="dxt-item">Walter-Hodges:1971-09-22</span>' in body
    minus = "\N{MINUS SIGN}"
    assert f'<del class="dxt-item" title="removed">{minus}Ortiz-Hughes:2018-02-02</del>' in body
    assert '<ins class="dxt-item" title="added">+Nguyen-Baker:2020-10-10</ins>' in body
