"""Who may do what: anonymous (401), a missing permission (403), another user's job (404)."""

from __future__ import annotations

import pytest

from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import JobState
from tests.api.conftest import STOCK, STOCK_PERMS
from tests.helpers import create_job, csv_bytes, stock_rows

DETAIL_GETS = ("", "preview/", "errors/", "error-report/", "file/")
DETAIL_POSTS = ("confirm/", "cancel/")


@pytest.fixture
def alice_job(upload, catalogue):
    return upload(csv_bytes(stock_rows(2))).json()["id"]


def assert_not_authenticated(response, status: int) -> None:
    assert response.status_code == status
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_anonymous_calls_are_refused(alice_job):
    """403 with session authentication first (DRF's default), as DRF answers."""
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert_not_authenticated(anonymous.get(STOCK), 403)
    assert_not_authenticated(anonymous.post(f"{STOCK}start/"), 403)
    for suffix in DETAIL_GETS:
        assert_not_authenticated(anonymous.get(f"{STOCK}{alice_job}/{suffix}"), 403)
    for suffix in DETAIL_POSTS:
        assert_not_authenticated(anonymous.post(f"{STOCK}{alice_job}/{suffix}"), 403)
    assert ImportJob.objects.get(pk=alice_job).state == JobState.PREVIEW_SUCCEEDED


def test_anonymous_calls_are_401_when_basic_authentication_comes_first(alice_job, monkeypatch):
    from rest_framework.authentication import BasicAuthentication, SessionAuthentication
    from rest_framework.test import APIClient

    from data_exchange_tool.api.imports import ImportJobViewSet

    monkeypatch.setattr(
        ImportJobViewSet, "authentication_classes", [BasicAuthentication, SessionAuthentication]
    )
    anonymous = APIClient()

    response = anonymous.post(f"{STOCK}{alice_job}/confirm/")

    assert_not_authenticated(response, 401)
    assert response["WWW-Authenticate"].startswith("Basic")
    assert ImportJob.objects.get(pk=alice_job).state == JobState.PREVIEW_SUCCEEDED


def test_another_users_job_is_a_404_everywhere(alice_job, make_user, client_for):
    bob = make_user("bob", *(p for w, p in STOCK_PERMS.items() if w != "view_all"))
    as_bob = client_for(bob)

    for suffix in DETAIL_GETS:
        assert as_bob.get(f"{STOCK}{alice_job}/{suffix}").status_code == 404, suffix
    for suffix in DETAIL_POSTS:
        assert as_bob.post(f"{STOCK}{alice_job}/{suffix}").status_code == 404, suffix
    assert as_bob.get(STOCK).json()["count"] == 0
    assert ImportJob.objects.get(pk=alice_job).state == JobState.PREVIEW_SUCCEEDED


def test_view_all_shows_every_users_jobs(alice_job, make_user, client_for):
    auditor = make_user("auditor", STOCK_PERMS["view_all"])
    as_auditor = client_for(auditor)

    assert as_auditor.get(STOCK).json()["count"] == 1
    assert as_auditor.get(f"{STOCK}{alice_job}/").json()["created_by"] == "alice"
    assert as_auditor.get(f"{STOCK}{alice_job}/errors/").status_code == 200
    # Seeing is not confirming.
    assert as_auditor.post(f"{STOCK}{alice_job}/confirm/").status_code == 403


def test_the_global_view_all_permission_covers_every_job_type(alice_job, make_user, client_for):
    auditor = make_user("auditor", "data_exchange_tool.view_all_importjob")

    assert client_for(auditor).get(f"{STOCK}{alice_job}/").status_code == 200


def test_a_confirmer_with_view_all_confirms_another_users_job(
    alice_job, make_user, client_for, run_on_commit
):
    lead = make_user("lead", STOCK_PERMS["view_all"], "data_exchange_tool.confirm_importjob")

    with run_on_commit():
        response = client_for(lead).post(f"{STOCK}{alice_job}/confirm/")

    assert response.status_code == 202
    job = ImportJob.objects.get(pk=alice_job)
    assert job.state == JobState.IMPORT_SUCCEEDED
    assert job.confirmed_by.username == "lead"


def test_no_permission_is_a_403_naming_the_permission(make_user, client_for):
    nobody = client_for(make_user("nobody"))

    response = nobody.get(STOCK)

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "You need the permission demo.view_stockrecordimportjob "
        "or demo.view_all_stockrecordimportjob."
    )


def test_starting_needs_the_add_permission(make_user, client_for, catalogue):
    reader = client_for(make_user("reader", STOCK_PERMS["view"]))

    response = reader.post(f"{STOCK}start/", {"file": b"x"}, format="multipart")

    assert response.status_code == 403
    assert "demo.add_stockrecordimportjob" in response.json()["detail"]
    assert ImportJob.objects.count() == 0


def test_confirming_needs_the_confirm_permission(make_user, client_for, upload, catalogue):
    uploader = make_user("uploader", STOCK_PERMS["add"], STOCK_PERMS["view"])
    job_id = upload(csv_bytes(stock_rows(2)), client=client_for(uploader)).json()["id"]

    response = client_for(uploader).post(f"{STOCK}{job_id}/confirm/")

    assert response.status_code == 403
    assert "demo.confirm_stockrecordimportjob" in response.json()["detail"]
    assert ImportJob.objects.get(pk=job_id).state == JobState.PREVIEW_SUCCEEDED
    # The uploader may cancel their own job.
    assert client_for(uploader).post(f"{STOCK}{job_id}/cancel/").status_code == 200


def test_a_job_types_permissions_do_not_open_another_type(make_user, client_for):
    stock_only = client_for(make_user("stock", *STOCK_PERMS.values()))

    assert stock_only.get("/api/imports/product/").status_code == 403
    assert stock_only.get(STOCK).status_code == 200


def test_a_job_of_another_type_is_a_404_under_this_type(alice, api):
    from example_project.demo.models import ProductImportJob

    product_job = create_job(b"sku,title\r\nA,a\r\n", job_type=ProductImportJob, created_by=alice)

    assert api.get(f"{STOCK}{product_job.pk}/").status_code == 404


def test_a_superuser_may_do_everything(alice_job, client_for, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw")

    assert client_for(root).get(f"{STOCK}{alice_job}/").status_code == 200
    assert client_for(root).post(f"{STOCK}{alice_job}/cancel/").status_code == 200
