"""The export API: start with filters as query parameters, read, cancel, download, schema."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from data_exchange_tool.models import ExportJob
from data_exchange_tool.states import ExportState
from example_project.demo.models import StockRecord
from tests.helpers import new_export

pytestmark = pytest.mark.django_db

BASE = "/api/exports/stock-record/"


def user_with(username: str, *codenames: str):
    user = get_user_model().objects.create_user(username, password="pw")
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return get_user_model().objects.get(pk=user.pk)


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def alice(db):
    return user_with("alice", "add_stockrecordexportjob", "view_stockrecordexportjob")


@pytest.fixture
def api(alice) -> APIClient:
    return client_of(alice)


@pytest.fixture
def records(catalogue):
    acme, globex = catalogue["partners"]
    product = catalogue["products"][0]
    for i, partner in enumerate([acme, acme, globex]):
        StockRecord.objects.create(
            partner=partner, product=product, partner_sku=f"S{i}", price=Decimal("2.50")
        )


def start(api, run_on_commit, query: str = "", **body):
    with run_on_commit():
        response = api.post(f"{BASE}start/{query}", body, format="json")
    return response


def test_start_with_filters_as_query_parameters(api, records, run_on_commit):
    response = start(api, run_on_commit, "?partner=Globex", format="csv")
    assert response.status_code == 202, response.json()
    assert response.json()["state"] == ExportState.CREATED  # the task is sent on commit
    body = api.get(f"{BASE}{response.json()['id']}/").json()
    assert body["filters"] == {"partner": "Globex"}
    assert body["state"] == ExportState.EXPORT_SUCCEEDED
    assert body["total_rows"] == 1
    assert body["progress"] == {"percent": 100, "done": 1, "total": 1}
    assert body["links"]["download"].endswith(f"{BASE}{body['id']}/download/")
    assert body["created_by"] == "alice"


def test_invalid_filters_are_a_400_and_no_job(api, records, run_on_commit):
    response = start(api, run_on_commit, "?partner=Nobody&price_min=cheap")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_filters"
    assert set(body["errors"]) == {"partner", "price_min"}
    assert not ExportJob.objects.exists()


def test_unknown_filters_are_a_400_naming_the_known_ones(api, records, run_on_commit):
    response = start(api, run_on_commit, "?partnr=ACME&price_min=1")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_filters"
    assert set(body["errors"]) == {"partnr"}
    assert "partner" in body["errors"]["partnr"][0]
    assert "partnr" in body["detail"]
    assert not ExportJob.objects.exists()


def test_unknown_format_is_a_400(api, records, run_on_commit):
    response = start(api, run_on_commit, format="pdf")
    assert response.status_code == 400
    assert "format" in response.json()


def test_download_streams_the_file_when_the_storage_is_not_s3(api, records, run_on_commit):
    job_id = start(api, run_on_commit, "?partner=ACME").json()["id"]
    response = api.get(f"{BASE}{job_id}/download/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["partner_sku"] for r in rows] == ["S0", "S1"]


def test_list_retrieve_and_cancel(api, alice, records, run_on_commit):
    job = new_export(user=alice)
    listed = api.get(BASE).json()
    assert [j["id"] for j in listed["results"]] == [job.pk]
    assert api.get(f"{BASE}{job.pk}/").json()["state"] == ExportState.CREATED
    response = api.post(f"{BASE}{job.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["state"] == ExportState.CANCELLED
    again = api.post(f"{BASE}{job.pk}/cancel/")
    assert again.status_code == 409
    download = api.get(f"{BASE}{job.pk}/download/")
    assert download.status_code == 409
    assert download.json()["code"] == "not_ready"


def test_other_users_exports_are_hidden_without_view_all(api, records):
    bob = user_with("bob", "add_stockrecordexportjob", "view_stockrecordexportjob")
    job = new_export(user=bob)
    assert api.get(f"{BASE}{job.pk}/").status_code == 404
    boss = user_with("boss", "view_all_stockrecordexportjob")
    assert client_of(boss).get(f"{BASE}{job.pk}/").status_code == 200


def test_permissions_are_required(records, run_on_commit):
    reader = client_of(user_with("reader", "view_stockrecordexportjob"))
    assert reader.post(f"{BASE}start/").status_code == 403
    assert APIClient().get(BASE).status_code in (401, 403)
    anyone = client_of(user_with("anyone", "add_exportjob"))  # every export type at once
    with run_on_commit():
        assert anyone.post(f"{BASE}start/").status_code == 202


def test_the_schema_documents_the_filters_of_start(api):
    user = get_user_model().objects.create_superuser("root", password="pw")
    schema = client_of(user).get("/api/schema/?format=json").json()
    start_op = schema["paths"][f"{BASE}start/"]["post"]
    names = {p["name"] for p in start_op["parameters"]}
    assert {"partner", "partner_sku", "price_min", "price_max", "in_stock"} <= names
    price = next(p for p in start_op["parameters"] if p["name"] == "price_min")
    assert price["schema"]["type"] == "number"
    assert f"{BASE}{{id}}/download/" in schema["paths"]
