"""System checks of export job types."""

from __future__ import annotations

import pytest

from data_exchange_tool.checks import check_export_job_types
from example_project.demo.filters import StockRecordFilterSet
from example_project.demo.models import Product, StockRecordExportJob


def ids() -> list[str]:
    return [message.id for message in check_export_job_types()]


def test_the_demo_export_type_passes():
    assert ids() == []


def test_no_serializer_to_borrow(monkeypatch):
    monkeypatch.setattr(StockRecordExportJob, "target_model", "auth.Group")
    messages = check_export_job_types()
    assert [m.id for m in messages] == ["data_exchange_tool.E010"]
    assert "no import job type reads auth.Group" in messages[0].msg


@pytest.mark.parametrize(
    "filterset_class", ["no.such.FilterSet", "example_project.demo.models.Partner", "product"]
)
def test_bad_filterset(monkeypatch, filterset_class):
    if filterset_class == "product":

        class ProductFilterSet(StockRecordFilterSet):
            class Meta(StockRecordFilterSet.Meta):
                model = Product
                fields = ()

        filterset_class = ProductFilterSet
    monkeypatch.setattr(StockRecordExportJob, "filterset_class", filterset_class)
    assert ids() == ["data_exchange_tool.E011"]
