"""Row serializers of the demo's job types: one row of a file, validated by DRF."""

from __future__ import annotations

from rest_framework import serializers

from example_project.demo.models import Partner, Product, StockRecord, Tag


class ImportStockRecordSerializer(serializers.ModelSerializer):
    """One stock record: partner and product are given by name and SKU."""

    partner = serializers.SlugRelatedField(slug_field="name", queryset=Partner.objects.all())
    product = serializers.SlugRelatedField(slug_field="sku", queryset=Product.objects.all())

    class Meta:
        model = StockRecord
        fields = ("partner", "product", "partner_sku", "price", "num_in_stock", "num_allocated")

    def validate(self, attrs: dict) -> dict:
        if attrs.get("num_allocated", 0) > attrs.get("num_in_stock", 0):
            raise serializers.ValidationError("More allocated than in stock.")
        return attrs


class ImportTaggedStockRecordSerializer(ImportStockRecordSerializer):
    """A stock record and its tags, by name, in one cell: ``clearance;seasonal``."""

    tags = serializers.SlugRelatedField(
        many=True, slug_field="name", queryset=Tag.objects.all(), required=False
    )

    class Meta(ImportStockRecordSerializer.Meta):
        fields = (*ImportStockRecordSerializer.Meta.fields, "tags")


class ImportProductSerializer(serializers.ModelSerializer):
    """One product."""

    class Meta:
        model = Product
        fields = ("sku", "title")
