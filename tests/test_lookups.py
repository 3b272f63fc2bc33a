"""filter_in: ``IN`` filters, as ``= ANY(array)`` on PostgreSQL and ``__in`` elsewhere."""

from __future__ import annotations

import pytest
from django.db import connection

from data_exchange_tool.lookups import filter_in
from example_project.demo.models import Partner, Product, StockRecord

pytestmark = pytest.mark.django_db


def test_filters_on_text_values(catalogue):
    found = filter_in(Product.objects.all(), {"sku": {"P-1", "P-3", "P-9"}})
    assert sorted(found.values_list("sku", flat=True)) == ["P-1", "P-3"]


def test_filters_on_pks_and_foreign_keys(catalogue):
    acme, globex = catalogue["partners"]
    product = catalogue["products"][0]
    StockRecord.objects.create(partner=acme, product=product, partner_sku="A")
    StockRecord.objects.create(partner=globex, product=product, partner_sku="A")
    StockRecord.objects.create(partner=globex, product=product, partner_sku="B")
    found = filter_in(StockRecord.objects.all(), {"partner": [globex.pk], "partner_sku": ["A"]})
    assert [(r.partner.name, r.partner_sku) for r in found] == [("Globex", "A")]
    assert filter_in(Partner.objects.all(), {"pk": [acme.pk]}).get() == acme


def test_no_values_find_nothing(catalogue):
    assert not filter_in(Product.objects.all(), {"sku": []}).exists()


def test_the_sql_has_one_parameter_per_field_on_postgresql(catalogue):
    queryset = filter_in(Product.objects.all(), {"sku": [f"P-{i}" for i in range(500)]})
    sql, params = queryset.query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql
        assert len(params) == 1
    else:
        assert " IN (" in sql
        assert len(params) == 500
    assert queryset.count() == 3
