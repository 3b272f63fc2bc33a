"""
The import API against the real worker, Redis, PostgreSQL and S3 (moto's server): a client
uploads, polls, reads the errors, confirms and polls to success, as the README's curl session does.
"""

from __future__ import annotations

import base64
import csv
import io

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord
from tests.api.conftest import STOCK, STOCK_PERMS, grant
from tests.helpers import csv_bytes, make_catalogue, stock_rows
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = "/api/imports/slow-stock-record/"
INVALID_ROWS = [
    ["ACME", "P-1", "BAD-1", "not a price", 1, 0],
    ["ACME", "P-404", "BAD-2", "1.00", 1, 0],
]


@pytest.fixture
def api() -> APIClient:
    user = get_user_model().objects.create_user("alice", password="pw")
    user = grant(
        user,
        *STOCK_PERMS.values(),
        "testapp.add_slowstockrecordimportjob",
        "testapp.view_slowstockrecordimportjob",
        "testapp.confirm_slowstockrecordimportjob",
    )
    client = APIClient()
    client.force_authenticate(user)
    return client


def start(api: APIClient, base: str, content: bytes, **options) -> dict:
    upload = SimpleUploadedFile("stock.csv", content, content_type="text/csv")
    response = api.post(f"{base}start/", {"file": upload, **options}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def poll(api: APIClient, url: str, *states: str, timeout: float = 60) -> dict:
    """GET ``url`` until the job reaches one of ``states``; return its last body."""
    last: dict = {}

    def reached() -> bool:
        last.update(api.get(url).json())
        return last["state"] in states

    wait_for(reached, timeout=timeout, interval=0.2)
    return last


def test_start_poll_read_errors_confirm_poll_to_success(celery_worker, api):
    make_catalogue()
    content = csv_bytes([*stock_rows(300), *INVALID_ROWS])
    job = start(api, STOCK, content, force_import="true")
    url = job["links"]["self"]

    previewed = poll(api, url, JobState.PREVIEW_SUCCEEDED, JobState.PREVIEW_FAILED)
    assert previewed["state"] == JobState.PREVIEW_SUCCEEDED, previewed["message"]
    assert previewed["counts"] == {
        "total": 302,
        "new": 300,
        "updated": 0,
        "unchanged": 0,
        "invalid": 2,
    }
    assert previewed["confirm_refusal"] is None

    errors = api.get(previewed["links"]["errors"]).json()
    assert [(e["row_number"], e["column"]) for e in errors["results"]] == [
        (302, "price"),
        (303, "product"),
    ]
    report = api.get(previewed["links"]["error_report"])
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][-1] == "errors"
    assert [line[2] for line in lines[1:]] == ["BAD-1", "BAD-2"]
    uploaded = api.get(previewed["links"]["file"])
    assert b"".join(uploaded.streaming_content) == content  # streamed back from S3

    confirmed = api.post(previewed["links"]["confirm"])
    assert confirmed.status_code == 202, confirmed.content

    done = poll(api, url, JobState.IMPORT_SUCCEEDED, JobState.IMPORT_FAILED)
    assert done["state"] == JobState.IMPORT_SUCCEEDED, done["message"]
    assert done["progress"]["percent"] == 100
    assert done["counts"]["new"] == 300
    assert done["confirmed_by"] == "alice"
    assert done["timings"]["import_finished_at"] is not None
    assert StockRecord.objects.count() == 300


def test_skip_preview_confirmation_imports_on_the_worker(celery_worker, api):
    make_catalogue()
    job = start(api, STOCK, csv_bytes(stock_rows(50)), skip_preview_confirmation="true")

    done = poll(api, job["links"]["self"], JobState.IMPORT_SUCCEEDED, JobState.IMPORT_FAILED)

    assert done["state"] == JobState.IMPORT_SUCCEEDED, done["message"]
    assert StockRecord.objects.count() == 50


def test_a_file_unreadable_only_when_read_fails_its_preview_on_the_worker(celery_worker, api):
    job = start(api, STOCK, b"colour,size\r\nred,4\r\n")

    failed = poll(api, job["links"]["self"], JobState.PREVIEW_FAILED, JobState.PREVIEW_SUCCEEDED)

    assert failed["state"] == JobState.PREVIEW_FAILED
    assert "Missing required column" in failed["message"]
    assert api.post(failed["links"]["confirm"]).status_code == 409


def test_a_running_import_locks_its_target_until_cancelled(celery_worker, api):
    make_catalogue()
    slow = start(api, SLOW, csv_bytes(stock_rows(3000)))
    waiting = start(api, STOCK, csv_bytes(stock_rows(5, partner="Globex")))
    poll(api, slow["links"]["self"], JobState.PREVIEW_SUCCEEDED, timeout=90)
    poll(api, waiting["links"]["self"], JobState.PREVIEW_SUCCEEDED)
    assert api.post(slow["links"]["confirm"]).status_code == 202
    wait_for(lambda: api.get(slow["links"]["self"]).json()["timings"]["import_started_at"])

    refused = api.post(waiting["links"]["confirm"])

    assert refused.status_code == 409
    assert refused.json()["code"] == "locked"
    assert refused.json()["blocking_job"] == slow["id"]
    assert refused.json()["state"] == JobState.PREVIEW_SUCCEEDED

    assert api.post(slow["links"]["cancel"]).status_code == 200
    cancelled = poll(api, slow["links"]["self"], JobState.CANCELLED, JobState.IMPORT_SUCCEEDED)
    assert cancelled["state"] == JobState.CANCELLED
    assert StockRecord.objects.count() == 0

    assert api.post(waiting["links"]["confirm"]).status_code == 202
    done = poll(api, waiting["links"]["self"], JobState.IMPORT_SUCCEEDED, JobState.IMPORT_FAILED)
    assert done["state"] == JobState.IMPORT_SUCCEEDED, done["message"]
    assert StockRecord.objects.count() == 5


@pytest.mark.parametrize("name", ["created_after", "created_before"])
@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("2026-01-01T00:00:00+16:00", 200),  # PostgreSQL itself refuses offsets past 15:59
        ("2026-01-01T00:00:00-23:59", 200),
        ("9999-12-31T23:59:59-10:00", 400),
        ("0001-01-01T00:00:00+10:00", 400),
        ("last tuesday", 400),
    ],
)
def test_date_filters_with_any_offset_never_get_a_server_error_on_postgresql(
    api, name, value, status
):
    assert api.get(STOCK, {name: value}).status_code == status


def test_the_schemathesis_date_filter_run_finds_no_server_error_on_postgresql(wsgi_app):
    from tests.api.test_schemathesis import check_date_filters

    get_user_model().objects.create_superuser("root", password="pw")
    headers = {"Authorization": "Basic " + base64.b64encode(b"root:pw").decode()}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    check_date_filters(schema["/api/imports/stock-record/"]["GET"], headers)
