"""The example project serves the API, its schema and Swagger UI (from the sidecar, no CDN)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.urls("example_project.urls")


def test_swagger_ui_is_served_from_the_sidecar(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/api/schema/" in html
    for cdn in ("jsdelivr", "unpkg", "cdnjs"):
        assert cdn not in html


def test_the_schema_and_the_api_are_routed(client, api):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert "/api/imports/stock-record/start/" in schema["paths"]
    assert api.get("/api/imports/stock-record/").status_code == 200
