"""The job page: state, progress, counts, invalid rows, planned changes, buttons and refusals."""

from __future__ import annotations

import re

from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord
from tests.admin.conftest import admin_url, bad_csv
from tests.helpers import csv_bytes, stock_rows


def page_of(client, job, **query):
    response = client.get(admin_url("change", job.pk), query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_counts_invalid_rows_and_the_refusal(admin_client, catalogue, upload):
    _response, job = upload(admin_client, bad_csv())
    body = page_of(admin_client, job)
    assert 'data-state="PREVIEW_SUCCEEDED"' in body
    # the counts are the table's tabs; the invalid rows come first, marked with their messages
    assert 'data-count="total">4</span>' in body
    assert 'data-count="new">2</span>' in body
    assert "dxt-tab-invalid dxt-tab-active" in body
    assert body.count('class="dxt-preview-row dxt-row-invalid"') == 2
    assert "Nobody" in body  # the original value of the invalid row
    assert "More allocated than in stock." in body
    assert 'class="dxt-cell dxt-cell-invalid"' in body
    assert "The preview found 2 invalid rows" in body
    assert "Confirm import" not in body
    assert "Re-run preview" in body
    assert ">Cancel</button>" in body


def test_a_clean_preview_offers_confirm(admin_client, catalogue, upload):
    _response, job = upload(admin_client, csv_bytes(stock_rows(3)))
    body = page_of(admin_client, job)
    assert "Confirm import" in body
    assert 'id="dxt-refusal"' not in body
    assert "What the import will do" in body
    assert body.count('class="dxt-preview-row dxt-row-new"') == 3
    assert "Showing" not in body  # every row is shown: nothing cut


def test_updates_show_old_and_new_values(admin_client, catalogue, upload, run_on_commit):
    _response, first = upload(admin_client, csv_bytes(stock_rows(2)))
    with run_on_commit():
        admin_client.post(admin_url("confirm", first.pk))
    assert StockRecord.objects.count() == 2
    changed = stock_rows(2)
    changed[0][3] = "99.99"
    _response, job = upload(admin_client, csv_bytes(changed))
    assert (job.updated_rows, job.unchanged_rows) == (1, 1)
    body = page_of(admin_client, job)
    assert re.search(r"<del>0\.50</del> → <ins>99\.99</ins>", body), body
    # the row says which record it is: the natural key's values, from the file's columns
    assert '<th class="dxt-identity">partner · partner_sku</th>' in body
    assert '<span class="dxt-key">ACME</span> · <span class="dxt-key">SKU-000001</span>' in body


def test_file_values_are_escaped(admin_client, catalogue, upload):
    rows = [["<script>alert(1)</script>", "P-1", "<b>SKU</b>", "1.00", 1, 0]]
    _response, job = upload(admin_client, csv_bytes(rows, delimiter=","))
    assert job.invalid_rows == 1
    body = page_of(admin_client, job)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>SKU</b>" not in body


def test_invalid_rows_are_paged(admin_client, catalogue, upload, monkeypatch):
    from data_exchange_tool.admin import GenericImporterModelAdmin

    monkeypatch.setattr(GenericImporterModelAdmin, "preview_rows_per_page", 2)
    rows = [["Nobody", "P-1", f"SKU-{i}", "1.00", 1, 0] for i in range(5)]
    _response, job = upload(admin_client, csv_bytes(rows))
    first = page_of(admin_client, job)
    assert "page 1 of 3" in first
    assert first.count('class="dxt-preview-row dxt-row-invalid"') == 2
    assert "?page=2#dxt-preview" in first
    last = page_of(admin_client, job, show="invalid", page=3)
    assert last.count('class="dxt-preview-row dxt-row-invalid"') == 1
    assert '<td class="dxt-row-number">6</td>' in last


def test_a_clerk_sees_the_preview_but_no_confirm_button(clerk_client, catalogue, upload):
    _response, job = upload(clerk_client, csv_bytes(stock_rows(2)))
    body = page_of(clerk_client, job)
    assert "What the import will do" in body
    assert "Confirm import" not in body
    assert "can confirm” permission" in body
    assert "Re-run preview" in body  # the uploader may run the preview again


def test_refusal_names_the_job_holding_the_lock(admin_client, catalogue, upload, make_staff):
    from tests.helpers import create_job

    alice = make_staff("alice")
    holder = create_job(csv_bytes(stock_rows(1)), created_by=alice)
    type(holder).objects.filter(pk=holder.pk).update(state=JobState.IMPORT_IN_PROGRESS)
    _response, job = upload(admin_client, csv_bytes(stock_rows(2)))
    body = page_of(admin_client, job)
    assert f"Job #{holder.pk}" in body
    assert "started by alice" in body
    assert "Confirm import" not in body


def test_a_successful_import_links_to_the_target_changelist(
    admin_client, catalogue, upload, run_on_commit
):
    _response, job = upload(admin_client, csv_bytes(stock_rows(2)))
    with run_on_commit():
        admin_client.post(admin_url("confirm", job.pk))
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED
    body = page_of(admin_client, job)
    # the link names the rows the import wrote; no warning on a success page
    pks = sorted(StockRecord.objects.values_list("pk", flat=True))
    assert f'href="/admin/demo/stockrecord/?id__in={pks[0]}%2C{pks[1]}"' in body
    assert "See the 2 stock records this import wrote" in body
    assert "2 created, 0 updated, 0 unchanged, 0 skipped." in body
    assert "already imported" not in body
    assert 'id="dxt-refusal"' not in body
    assert ">Cancel</button>" not in body


def test_a_running_job_polls_its_progress_endpoint(admin_client, catalogue):
    from tests.helpers import create_job

    job = create_job(csv_bytes(stock_rows(2)))  # no commit: the preview is still queued
    assert job.state == JobState.CREATED
    body = page_of(admin_client, job)
    assert "data-dxt-progress" in body
    assert f'data-url="{admin_url("progress", job.pk)}"' in body
    assert "Waiting for a worker" in body
    assert "progress.js" in body


def test_the_list_shows_badges_counts_and_progress(admin_client, catalogue, upload):
    from tests.helpers import create_job

    upload(admin_client, bad_csv())
    create_job(csv_bytes(stock_rows(2)))
    response = admin_client.get(admin_url("changelist"))
    body = response.content.decode()
    assert 'class="dxt-badge dxt-state-preview_succeeded"' in body
    assert 'class="dxt-badge dxt-state-created"' in body
    assert body.count("data-dxt-progress") == 1
    assert '<strong class="dxt-invalid">2</strong>' in body
    assert "Upload a file" in body
    assert response.context["cl"].result_count == 2


def test_the_list_filters_by_state(admin_client, catalogue, upload):
    from tests.helpers import create_job

    upload(admin_client, bad_csv())
    create_job(csv_bytes(stock_rows(2)))
    response = admin_client.get(admin_url("changelist"), {"state__exact": "CREATED"})
    assert response.context["cl"].result_count == 1


def test_a_failed_preview_says_why_and_offers_a_new_file(admin_client, upload):
    _response, job = upload(admin_client, csv_bytes([["x"]], headers=["nothing"]))
    assert job.state == JobState.PREVIEW_FAILED
    body = page_of(admin_client, job)
    assert "Missing required column(s)" in body
    assert "Re-run preview" in body
    assert "Confirm import" not in body
    assert "dxt-progress-section" not in body
