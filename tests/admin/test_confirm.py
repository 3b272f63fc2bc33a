"""Confirm, cancel and re-run: POST only, CSRF-protected, and only with the permission."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from data_exchange_tool import actions
from data_exchange_tool.locking import confirm_refusal
from data_exchange_tool.progress import ProgressChannel
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord
from tests.admin.conftest import admin_url, bad_csv
from tests.helpers import create_job, csv_bytes, stock_rows


def state_of(job):
    job.refresh_from_db()
    return job.state


def test_confirm_imports_the_rows(admin_client, catalogue, upload, run_on_commit):
    _response, job = upload(admin_client, csv_bytes(stock_rows(3)))
    with run_on_commit():
        response = admin_client.post(admin_url("confirm", job.pk), follow=True)
    assert state_of(job) == JobState.IMPORT_SUCCEEDED
    assert StockRecord.objects.count() == 3
    assert "The import has started." in response.content.decode()


def test_confirm_without_the_permission_is_403(clerk_client, catalogue, upload):
    _response, job = upload(clerk_client, csv_bytes(stock_rows(3)))
    response = clerk_client.post(admin_url("confirm", job.pk))
    assert response.status_code == 403
    assert state_of(job) == JobState.PREVIEW_SUCCEEDED
    assert StockRecord.objects.count() == 0


@pytest.mark.parametrize(
    "perm", ["demo.confirm_stockrecordimportjob", "data_exchange_tool.confirm_importjob"]
)
def test_the_type_or_the_global_confirm_permission_allows_it(
    clerk, catalogue, upload, run_on_commit, perm
):
    from tests.admin.conftest import grant

    client = Client()
    client.force_login(grant(clerk, perm))
    _response, job = upload(client, csv_bytes(stock_rows(2)))
    assert "Confirm import" in client.get(admin_url("change", job.pk)).content.decode()
    with run_on_commit():
        assert client.post(admin_url("confirm", job.pk)).status_code == 302
    assert state_of(job) == JobState.IMPORT_SUCCEEDED


def test_a_refused_confirm_says_why(admin_client, catalogue, upload):
    _response, job = upload(admin_client, bad_csv())
    response = admin_client.post(admin_url("confirm", job.pk), follow=True)
    assert "The import was not started: The preview found 2 invalid rows" in (
        response.content.decode()
    )
    assert state_of(job) == JobState.PREVIEW_SUCCEEDED


@pytest.mark.parametrize("action", ["confirm", "cancel", "rerun"])
def test_get_never_changes_anything(admin_client, catalogue, upload, action):
    _response, job = upload(admin_client, csv_bytes(stock_rows(2)))
    response = admin_client.get(admin_url(action, job.pk))
    assert response.status_code == 405
    assert state_of(job) == JobState.PREVIEW_SUCCEEDED


def test_the_job_page_refuses_a_post(admin_client, catalogue, upload):
    _response, job = upload(admin_client, csv_bytes(stock_rows(2)))
    assert admin_client.post(admin_url("change", job.pk), {"state": "CANCELLED"}).status_code == 405
    assert state_of(job) == JobState.PREVIEW_SUCCEEDED


@pytest.mark.parametrize("action", ["confirm", "cancel", "rerun"])
def test_csrf_is_enforced(admin_user, catalogue, action, run_on_commit):
    with run_on_commit():
        job = create_job(csv_bytes(stock_rows(2)))
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(admin_url(action, job.pk))
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert state_of(job) == JobState.PREVIEW_SUCCEEDED


def test_a_post_with_the_page_csrf_token_works(admin_user, catalogue, run_on_commit):
    with run_on_commit():
        job = create_job(csv_bytes(stock_rows(2)))
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    client.get(admin_url("change", job.pk))
    token = client.cookies["csrftoken"].value
    response = client.post(admin_url("cancel", job.pk), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert state_of(job) == JobState.CANCELLED


def test_cancel_a_finished_preview(admin_client, catalogue, upload):
    _response, job = upload(admin_client, csv_bytes(stock_rows(2)))
    response = admin_client.post(admin_url("cancel", job.pk), follow=True)
    assert state_of(job) == JobState.CANCELLED
    body = response.content.decode()
    assert "The job is cancelled." in body
    assert ">Cancel</button>" not in body
    assert "Confirm import" not in body


def test_cancel_a_running_import_asks_it_to_stop(admin_client, catalogue, upload):
    _response, job = upload(admin_client, csv_bytes(stock_rows(2)))
    actions.confirm_import(job)  # not committed: the import task never starts
    type(job).objects.filter(pk=job.pk).update(import_started_at=job.created_at)
    response = admin_client.post(admin_url("cancel", job.pk), follow=True)
    assert "the import stops at its next batch" in response.content.decode()
    assert ProgressChannel(job).cancel_requested()
    assert state_of(job) == JobState.IMPORT_IN_PROGRESS  # the task ends it at its next batch
    page = admin_client.get(admin_url("change", job.pk)).content.decode()
    assert "Cancel requested: the import stops at its next batch." in page
    assert ">Cancel</button>" not in page, "a second cancel would change nothing"


def test_rerun_with_a_corrected_file(admin_client, catalogue, upload, run_on_commit):
    _response, job = upload(admin_client, bad_csv())
    assert job.invalid_rows == 2
    fixed = SimpleUploadedFile("fixed.csv", csv_bytes(stock_rows(4)))
    with run_on_commit():
        response = admin_client.post(admin_url("rerun", job.pk), {"file": fixed})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED
    assert (job.file_name, job.new_rows, job.invalid_rows) == ("fixed.csv", 4, 0)
    assert job.row_errors.count() == 0


def test_rerun_may_force_the_import_for_confirmers_only(
    admin_client, clerk_client, catalogue, upload, run_on_commit
):
    _response, job = upload(clerk_client, bad_csv())
    with run_on_commit():
        clerk_client.post(admin_url("rerun", job.pk), {"force_import": "on"})
    assert not type(job).objects.get(pk=job.pk).force_import
    with run_on_commit():
        admin_client.post(admin_url("rerun", job.pk), {"force_import": "on"})
    job.refresh_from_db()
    assert job.force_import
    assert job.state == JobState.PREVIEW_SUCCEEDED
    assert confirm_refusal(job) is None


def test_rerun_refuses_an_unsupported_file(admin_client, catalogue, upload):
    _response, job = upload(admin_client, bad_csv())
    response = admin_client.post(
        admin_url("rerun", job.pk), {"file": SimpleUploadedFile("x.exe", b"MZ")}, follow=True
    )
    assert "are not supported" in response.content.decode()
    job.refresh_from_db()
    assert (job.file_name, job.state) == ("stock.csv", JobState.PREVIEW_SUCCEEDED)


def test_another_user_without_rights_cannot_cancel(make_staff, clerk, catalogue, run_on_commit):
    with run_on_commit():
        job = create_job(csv_bytes(stock_rows(2)), created_by=clerk)
    other = make_staff(
        "other",
        "demo.add_stockrecordimportjob",
        "demo.view_stockrecordimportjob",
        "demo.view_all_stockrecordimportjob",
    )
    client = Client()
    client.force_login(other)
    assert client.post(admin_url("cancel", job.pk)).status_code == 403
    assert client.post(admin_url("rerun", job.pk)).status_code == 403
    assert state_of(job) == JobState.PREVIEW_SUCCEEDED


def test_a_failed_import_offers_to_run_the_preview_again(
    admin_client, catalogue, upload, run_on_commit
):
    _response, job = upload(admin_client, csv_bytes(stock_rows(2)))
    actions.confirm_import(job)  # not committed: no task; the import then fails
    job.fail_import("The import's worker stopped responding.")
    job.save()
    page = admin_client.get(admin_url("change", job.pk)).content.decode()
    assert "Re-run preview" in page
    with run_on_commit():
        response = admin_client.post(admin_url("rerun", job.pk))
    assert response.status_code == 302
    assert state_of(job) == JobState.PREVIEW_SUCCEEDED
    with run_on_commit():
        admin_client.post(admin_url("confirm", job.pk))
    assert state_of(job) == JobState.IMPORT_SUCCEEDED
    assert StockRecord.objects.count() == 2
