"""Serializers of the test app."""

from __future__ import annotations

from rest_framework import serializers

from data_exchange_tool.fields import FileFromURLField, ThroughManyField
from tests.testapp.models import (
    Artist,
    CatalogueItem,
    Category,
    Coded,
    Everything,
    FidelityThing,
    Keyed,
    Membership,
    Note,
    Sample,
    Tag,
)


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ("code", "label", "weight")


class SlowTagSerializer(TagSerializer):
    """Tags; each row waits the job's ``options["row_delay"]`` seconds (0 by default), or only
    the rows whose code is ``options["slow_from"]`` or after."""

    def validate(self, attrs: dict) -> dict:
        import time

        job = self.context.get("job")
        options = (job.options if job else None) or {}
        if str(attrs.get("code", "")) >= options.get("slow_from", ""):
            time.sleep(float(options.get("row_delay", 0)))
        return attrs


class SampleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sample
        fields = (
            "code",
            "zip",
            "price",
            "quantity",
            "ratio",
            "date",
            "updated",
            "name",
            "active",
            "note",
        )


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ("text",)


class CatalogueItemSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(
        many=True, slug_field="code", queryset=Tag.objects.all(), required=False
    )
    image = FileFromURLField(required=False, allow_blank=True)

    class Meta:
        model = CatalogueItem
        fields = ("sku", "name", "tags", "image")


class ArtistSerializer(serializers.ModelSerializer):
    bands = ThroughManyField(
        through=Membership,
        related="band",
        slug_field="title",
        extra_fields=["date_joined"],
        required=False,
    )

    class Meta:
        model = Artist
        fields = ("name", "bands")


class EverythingSerializer(serializers.ModelSerializer):
    """Every written column of ``Everything``. ``data`` parses the cell's text as JSON; ``code``
    (a ``db_default``) is optional; ``label`` and ``small`` are declared without the model's
    limits, so the import's own checks are what refuses a value too long or too large."""

    category = serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.all(), allow_null=True, required=False
    )
    shelf = serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.all(), allow_null=True, required=False
    )
    data = serializers.JSONField(binary=True, allow_null=True, required=False)
    label = serializers.CharField(required=False)
    small = serializers.IntegerField(required=False)

    class Meta:
        model = Everything
        fields = (
            "name", "notes", "slug", "amount", "small", "count", "big", "positive", "ratio",
            "flag", "maybe", "day", "moment", "clock", "span", "data", "ref", "category",
            "shelf", "label", "code",
        )  # fmt: skip
        extra_kwargs = {"code": {"required": False}}


class KeyedSerializer(serializers.ModelSerializer):
    class Meta:
        model = Keyed
        fields = ("name",)


class CodedSerializer(serializers.ModelSerializer):
    class Meta:
        model = Coded
        fields = ("code", "title")


class FidelityThingSerializer(serializers.ModelSerializer):
    class Meta:
        model = FidelityThing
        fields = ("code", "title", "qty", "price", "active", "category")
