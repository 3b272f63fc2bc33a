"""The encoding and the delimiter named on the API's start and rerun (#11)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from data_exchange_tool.models import ImportJob
from tests.api.conftest import STOCK
from tests.test_reading_options import cyrillic_csv

pytestmark = pytest.mark.django_db


def test_the_api_start_and_rerun_take_them(api, catalogue, run_on_commit):
    with run_on_commit():
        response = api.post(
            f"{STOCK}start/",
            {"file": SimpleUploadedFile("stock.csv", cyrillic_csv()), "encoding": "CP1251",
             "delimiter": ";"},
            format="multipart",
        )  # fmt: skip
    assert response.status_code == 201, response.data
    job = ImportJob.objects.get(pk=response.json()["id"])
    body = api.get(f"{STOCK}{job.pk}/").json()
    assert (body["file_encoding"], body["file_delimiter"]) == ("cp1251", ";")
    assert job.options["encoding"] == "cp1251"
    with run_on_commit():
        response = api.post(f"{STOCK}{job.pk}/rerun/", {"encoding": ""}, format="multipart")
    assert response.status_code == 202, response.data
    job.refresh_from_db()
    assert "encoding" not in job.options  # blank: detect it again
    assert job.options["delimiter"] == ";"  # left out: kept


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [("encoding", "klingon", "invalid_encoding"), ("delimiter", ":", "invalid_delimiter")],
)
def test_the_api_refuses_a_bad_choice_with_a_400(api, field, value, code):
    response = api.post(
        f"{STOCK}start/",
        {"file": SimpleUploadedFile("stock.csv", cyrillic_csv()), field: value},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.data[field][0].code == code
    assert not ImportJob.objects.exists()
