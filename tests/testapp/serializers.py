"""Serializers of the test app."""

from __future__ import annotations

from rest_framework import serializers

from data_exchange_tool.fields import FileFromURLField, ThroughManyField
from tests.testapp.models import Artist, CatalogueItem, Membership, Note, Sample, Tag


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ("code", "label", "weight")


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
