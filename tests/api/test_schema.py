"""The OpenAPI schema: valid, without warnings, and describing every action."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_the_schema_validates_without_warnings(schema):
    assert schema["openapi"].startswith("3.")


def test_every_action_has_a_summary_responses_and_an_example(schema):
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/imports/stock-record/")
        for method, operation in item.items()
    ]
    assert len(operations) == 10
    for path, method, operation in operations:
        assert operation["summary"], (path, method)
        ok = [code for code in operation["responses"] if code.startswith("2")]
        assert ok, (path, method)
        content = operation["responses"][ok[0]]["content"]
        media = next(iter(content.values()))
        if "binary" not in str(media.get("schema")):
            assert media.get("examples"), (path, method)
        assert operation["tags"] == ["stock record imports"]


def test_start_takes_a_multipart_upload(schema):
    start = schema["paths"]["/api/imports/stock-record/start/"]["post"]

    body = start["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["$ref"].endswith("/ImportJobStart")
    fields = schema["components"]["schemas"]["ImportJobStart"]
    assert fields["properties"]["file"]["format"] == "binary"
    assert set(fields["properties"]) == {
        "file",
        "force_import",
        "skip_preview_confirmation",
        "encoding",
        "delimiter",
    }
    assert set(start["responses"]) == {"201", "400", "401", "403"}


def test_confirm_documents_its_conflicts(schema):
    confirm = schema["paths"]["/api/imports/stock-record/{id}/confirm/"]["post"]

    conflict = confirm["responses"]["409"]["content"]["application/json"]
    assert conflict["schema"]["$ref"].endswith("/LockedError")
    assert set(conflict["examples"]) == {"Locked", "InvalidRows"}


def test_the_list_documents_its_filters(schema):
    listing = schema["paths"]["/api/imports/stock-record/"]["get"]

    names = {parameter["name"] for parameter in listing["parameters"]}
    assert names >= {
        "state",
        "created_by",
        "created_after",
        "created_before",
        "ordering",
        "page",
        "page_size",
    }


def test_the_schema_is_served(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert "/api/imports/stock-record/{id}/error-report/" in response.json()["paths"]
