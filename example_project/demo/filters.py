"""FilterSets of the demo: which stock records an export takes."""

from __future__ import annotations

import django_filters

from example_project.demo.models import Partner, StockRecord


class StockRecordFilterSet(django_filters.FilterSet):
    """Stock records by partner name, SKU prefix, price range and stock."""

    partner = django_filters.ModelChoiceFilter(
        queryset=Partner.objects.all(), to_field_name="name", label="Partner name"
    )
    partner_sku = django_filters.CharFilter(
        lookup_expr="startswith", label="Partner SKU starts with"
    )
    price_min = django_filters.NumberFilter(
        field_name="price", lookup_expr="gte", label="Lowest price"
    )
    price_max = django_filters.NumberFilter(
        field_name="price", lookup_expr="lte", label="Highest price"
    )
    in_stock = django_filters.BooleanFilter(method="filter_in_stock", label="In stock")

    class Meta:
        model = StockRecord
        fields = ("partner", "partner_sku", "price_min", "price_max", "in_stock")

    def filter_in_stock(self, queryset, name, value):
        """Keep records with (True) or without (False) stock."""
        return queryset.filter(num_in_stock__gt=0) if value else queryset.filter(num_in_stock=0)
