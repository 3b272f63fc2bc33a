"""The encoding and the delimiter named on the admin's upload and re-run forms (#11)."""

from __future__ import annotations

import pytest

from data_exchange_tool.states import JobState
from tests.admin.conftest import admin_url
from tests.test_reading_options import cyrillic_csv

pytestmark = pytest.mark.django_db


def test_the_admin_upload_form_takes_them(admin_client, catalogue, upload):
    body = admin_client.get(admin_url("add")).content.decode()
    assert 'name="encoding"' in body
    assert 'name="delimiter"' in body
    _response, job = upload(admin_client, cyrillic_csv(), encoding="cp1251", delimiter=";")
    assert job.options == {"encoding": "cp1251", "delimiter": ";"}
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    page = admin_client.get(admin_url("change", job.pk)).content.decode()
    assert "encoding <code>cp1251</code> (chosen on upload)" in page


def test_the_admin_refuses_an_unknown_encoding_on_the_form(admin_client, upload):
    response, job = upload(admin_client, cyrillic_csv(), encoding="klingon")
    assert response.status_code == 200
    assert "Unknown text encoding" in response.content.decode()
    assert job is None


def test_the_admin_rerun_form_changes_them(admin_client, catalogue, upload, run_on_commit):
    _response, job = upload(admin_client, cyrillic_csv(), encoding="cp1252")
    page = admin_client.get(admin_url("change", job.pk)).content.decode()
    assert 'value="cp1252"' in page  # the rerun form shows the choice
    with run_on_commit():
        admin_client.post(admin_url("rerun", job.pk), {"encoding": "cp1251", "delimiter": ";"})
    job.refresh_from_db()
    assert job.options == {"encoding": "cp1251", "delimiter": ";"}
    assert job.file_encoding == "cp1251"
    with run_on_commit():
        admin_client.post(admin_url("rerun", job.pk), {"encoding": "klingon"})
    job.refresh_from_db()
    assert job.options == {"encoding": "cp1251", "delimiter": ";"}
