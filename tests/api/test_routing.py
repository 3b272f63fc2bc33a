"""One router for every job type: slugs, generated and declared viewsets, clashes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from data_exchange_tool.api.imports import ImportJobViewSet
from data_exchange_tool.api.routing import job_type_slug
from data_exchange_tool.api.urls import build_router, register_import_viewsets
from data_exchange_tool.exceptions import ConfigurationError
from data_exchange_tool.models import ImportJob
from data_exchange_tool.registry import job_types
from example_project.demo.models import ProductImportJob, StockRecordImportJob
from tests.testapp.models import TagImportJob


def test_every_registered_job_type_is_routed():
    for job_type in job_types(ImportJob):
        slug = job_type_slug(job_type)
        assert reverse(f"import-{slug}-list") == f"/api/imports/{slug}/"
        assert reverse(f"import-{slug}-confirm", kwargs={"pk": 7}) == (
            f"/api/imports/{slug}/7/confirm/"
        )
    assert {"stock-record", "product", "tag"} <= {job_type_slug(t) for t in job_types(ImportJob)}


def test_the_slug_is_the_class_name_in_kebab_case_unless_declared(monkeypatch):
    assert job_type_slug(StockRecordImportJob) == "stock-record"
    assert job_type_slug(ProductImportJob) == "product"
    monkeypatch.setattr(TagImportJob, "api_slug", "labels", raising=False)
    assert job_type_slug(TagImportJob) == "labels"


def test_a_generated_viewset_serves_its_job_type_only():
    viewset = ImportJobViewSet.for_job_type(ProductImportJob)

    assert viewset.job_type is ProductImportJob
    assert issubclass(viewset, ImportJobViewSet)
    assert ImportJobViewSet.job_type is None


def test_a_viewset_without_a_job_type_names_the_fix():
    with pytest.raises(ConfigurationError, match="for_job_type"):
        ImportJobViewSet().get_job_type()


def test_a_declared_subclass_replaces_the_generated_viewset(monkeypatch):
    monkeypatch.setattr(ImportJobViewSet, "declared", {})

    class TagViewSet(ImportJobViewSet):
        job_type = TagImportJob
        pagination_class = None

    router = build_router()

    registered = {prefix: viewset for prefix, viewset, _basename in router.registry}
    assert registered["imports/tag"] is TagViewSet
    assert registered["imports/stock-record"] is not TagViewSet
    assert ImportJobViewSet.for_job_type(TagImportJob) is TagViewSet


def test_two_job_types_on_one_slug_are_refused(monkeypatch):
    monkeypatch.setattr(ProductImportJob, "api_slug", "stock-record", raising=False)

    with pytest.raises(ConfigurationError, match="api_slug"):
        build_router()


def test_more_viewsets_can_be_registered_on_the_router():
    from rest_framework.routers import SimpleRouter

    router = SimpleRouter()
    register_import_viewsets(router)
    router.register("things", ImportJobViewSet.for_job_type(TagImportJob), basename="things")

    assert {prefix for prefix, _viewset, _basename in router.registry} >= {
        "imports/stock-record",
        "things",
    }


def test_the_api_root_lists_the_job_types(api):
    body = api.get("/api/").json()

    assert body["imports/stock-record"] == "http://testserver/api/imports/stock-record/"
