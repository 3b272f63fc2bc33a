"""confirm and cancel: the transitions, and the 409s a client can act on."""

from __future__ import annotations

from data_exchange_tool import actions
from data_exchange_tool.locking import confirm_refusal
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord
from tests.api.conftest import STOCK
from tests.helpers import create_job, csv_bytes, stock_rows

INVALID = ["ACME", "P-1", "BAD", "not a price", 1, 0]


def test_confirm_imports_the_job(upload, api, alice, run_on_commit, catalogue):
    job_id = upload(csv_bytes(stock_rows(5))).json()["id"]

    with run_on_commit():
        response = api.post(f"{STOCK}{job_id}/confirm/")

    assert response.status_code == 202
    job = api.get(f"{STOCK}{job_id}/").json()
    assert job["state"] == JobState.IMPORT_SUCCEEDED
    assert job["confirmed_by"] == "alice"
    assert job["is_final"] is True
    assert job["progress"]["percent"] == 100
    assert job["timings"]["import_finished_at"] is not None
    assert StockRecord.objects.count() == 5


def test_confirm_answers_the_job_as_the_request_left_it(upload, api, catalogue):
    job_id = upload(csv_bytes(stock_rows(2))).json()["id"]

    body = api.post(f"{STOCK}{job_id}/confirm/").json()  # the task is sent on commit

    assert body["state"] == JobState.IMPORT_IN_PROGRESS
    assert body["confirm_refusal"] == "This file is being imported now."


def test_confirm_with_invalid_rows_is_a_409_with_the_state_and_reason(upload, api, catalogue):
    job_id = upload(csv_bytes([*stock_rows(2), INVALID])).json()["id"]

    response = api.post(f"{STOCK}{job_id}/confirm/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The preview found 1 invalid row: fix the file and run the preview again, "
        "or import the valid rows and skip it.",
        "code": "transition_not_allowed",
        "state": JobState.PREVIEW_SUCCEEDED,
    }
    assert ImportJob.objects.get(pk=job_id).state == JobState.PREVIEW_SUCCEEDED


def test_confirm_of_a_forced_job_imports_the_valid_rows(upload, api, run_on_commit, catalogue):
    job_id = upload(csv_bytes([*stock_rows(2), INVALID]), force_import="true").json()["id"]

    with run_on_commit():
        assert api.post(f"{STOCK}{job_id}/confirm/").status_code == 202

    assert api.get(f"{STOCK}{job_id}/").json()["state"] == JobState.IMPORT_SUCCEEDED
    assert StockRecord.objects.count() == 2


def test_confirm_before_the_preview_finished_is_a_409(api, alice, catalogue):
    job = create_job(csv_bytes(stock_rows(2)), created_by=alice)  # preview not run

    response = api.post(f"{STOCK}{job.pk}/confirm/")

    assert response.status_code == 409
    assert response.json()["state"] == JobState.CREATED
    assert response.json()["detail"] == "The preview has not finished yet."


def test_confirm_twice_is_a_409(upload, api, run_on_commit, catalogue):
    job_id = upload(csv_bytes(stock_rows(2))).json()["id"]
    with run_on_commit():
        api.post(f"{STOCK}{job_id}/confirm/")

    response = api.post(f"{STOCK}{job_id}/confirm/")

    assert response.status_code == 409
    assert response.json()["state"] == JobState.IMPORT_SUCCEEDED
    assert response.json()["detail"] == "This file is already imported."


def test_confirm_while_another_job_imports_into_the_target_names_it(
    upload, api, client_for, make_user, catalogue
):
    from tests.api.conftest import STOCK_PERMS

    bob = make_user("bob", STOCK_PERMS["add"], STOCK_PERMS["confirm"], STOCK_PERMS["view"])
    holder = upload(csv_bytes(stock_rows(2)), client=client_for(bob)).json()["id"]
    waiting = upload(csv_bytes(stock_rows(2, start=10))).json()["id"]
    client_for(bob).post(f"{STOCK}{holder}/confirm/")  # holds the lock: its task is not run

    response = api.post(f"{STOCK}{waiting}/confirm/")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "locked"
    assert body["blocking_job"] == holder
    assert body["state"] == JobState.PREVIEW_SUCCEEDED
    assert f"Job #{holder}" in body["detail"]
    assert "bob" in body["detail"]
    assert ImportJob.objects.get(pk=waiting).state == JobState.PREVIEW_SUCCEEDED


def test_cancel_a_previewed_job(upload, api, catalogue):
    job_id = upload(csv_bytes(stock_rows(2))).json()["id"]

    response = api.post(f"{STOCK}{job_id}/cancel/")

    assert response.status_code == 200
    assert response.json()["state"] == JobState.CANCELLED
    assert response.json()["timings"]["cancelled_at"] is not None
    assert api.post(f"{STOCK}{job_id}/confirm/").status_code == 409


def test_cancel_a_finished_job_is_a_409(upload, api, catalogue):
    job_id = upload(csv_bytes(stock_rows(2)), skip_preview_confirmation="true").json()["id"]

    response = api.post(f"{STOCK}{job_id}/cancel/")

    assert response.status_code == 409
    assert response.json()["state"] == JobState.IMPORT_SUCCEEDED
    assert response.json()["code"] == "transition_not_allowed"
    assert "cannot be cancelled" in response.json()["detail"]


def test_cancel_twice_is_a_409(upload, api, catalogue):
    job_id = upload(csv_bytes(stock_rows(2))).json()["id"]
    api.post(f"{STOCK}{job_id}/cancel/")

    response = api.post(f"{STOCK}{job_id}/cancel/")

    assert response.status_code == 409
    assert response.json()["state"] == JobState.CANCELLED


def test_get_on_an_action_is_a_405(upload, api, catalogue):
    job_id = upload(csv_bytes(stock_rows(1))).json()["id"]

    assert api.get(f"{STOCK}{job_id}/confirm/").status_code == 405
    assert api.delete(f"{STOCK}{job_id}/").status_code == 405


def test_rerun_with_a_corrected_file_previews_it(upload, api, run_on_commit, catalogue):
    from django.core.files.uploadedfile import SimpleUploadedFile

    job_id = upload(csv_bytes([*stock_rows(2), INVALID])).json()["id"]
    assert api.get(f"{STOCK}{job_id}/").json()["counts"]["invalid"] == 1
    corrected = SimpleUploadedFile("fixed.csv", csv_bytes(stock_rows(3)))

    with run_on_commit():
        response = api.post(f"{STOCK}{job_id}/rerun/", {"file": corrected}, format="multipart")

    assert response.status_code == 202
    job = api.get(f"{STOCK}{job_id}/").json()
    assert job["state"] == JobState.PREVIEW_SUCCEEDED
    assert job["file_name"] == "fixed.csv"
    assert (job["counts"]["total"], job["counts"]["invalid"]) == (3, 0)
    assert api.get(f"{STOCK}{job_id}/errors/").json()["count"] == 0


def test_rerun_without_a_file_checks_the_same_file_and_may_force(
    upload, api, run_on_commit, catalogue
):
    job_id = upload(csv_bytes([*stock_rows(2), INVALID])).json()["id"]

    with run_on_commit():
        response = api.post(f"{STOCK}{job_id}/rerun/", {"force_import": "true"}, format="multipart")

    assert response.status_code == 202
    job = ImportJob.objects.get(pk=job_id)
    assert (job.state, job.force_import, job.invalid_rows) == (JobState.PREVIEW_SUCCEEDED, True, 1)
    assert confirm_refusal(job) is None


def test_rerun_once_the_import_started_is_a_409(upload, api, run_on_commit, catalogue):
    job_id = upload(csv_bytes(stock_rows(2))).json()["id"]
    with run_on_commit():
        api.post(f"{STOCK}{job_id}/confirm/")

    response = api.post(f"{STOCK}{job_id}/rerun/", {}, format="multipart")

    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"
    assert response.json()["state"] == JobState.IMPORT_SUCCEEDED


def test_rerun_refuses_an_unreadable_file_at_once(upload, api, catalogue):
    from django.core.files.uploadedfile import SimpleUploadedFile

    job_id = upload(csv_bytes(stock_rows(1))).json()["id"]
    response = api.post(
        f"{STOCK}{job_id}/rerun/",
        {"file": SimpleUploadedFile("x.pdf", b"%PDF")},
        format="multipart",
    )
    assert response.status_code == 400
    assert ImportJob.objects.get(pk=job_id).state == JobState.PREVIEW_SUCCEEDED


def test_refusals_speak_the_clients_language(upload, api, catalogue):
    job_id = upload(csv_bytes([*stock_rows(2), INVALID])).json()["id"]

    response = api.post(f"{STOCK}{job_id}/confirm/", HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 409
    assert response.json()["detail"].startswith("La vista previa encontró 1 fila no válida")
    assert response.json()["code"] == "transition_not_allowed"  # codes stay words for programs


def test_rerun_after_a_failed_import_previews_the_file_again(upload, api, run_on_commit, catalogue):
    job_id = upload(csv_bytes(stock_rows(2))).json()["id"]
    job = ImportJob.objects.get(pk=job_id)
    actions.confirm_import(job)  # not committed: no task; the import then fails
    job.refresh_from_db()
    job.fail_import("The import's worker stopped responding.")
    job.save()

    with run_on_commit():
        response = api.post(f"{STOCK}{job_id}/rerun/", {}, format="multipart")
        assert response.status_code == 202

    body = api.get(f"{STOCK}{job_id}/").json()
    assert (body["state"], body["message"], body["confirm_refusal"]) == (
        JobState.PREVIEW_SUCCEEDED,
        "",
        None,
    )
    with run_on_commit():
        assert api.post(f"{STOCK}{job_id}/confirm/").status_code == 202
    assert api.get(f"{STOCK}{job_id}/").json()["state"] == JobState.IMPORT_SUCCEEDED
