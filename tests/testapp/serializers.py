"""Serializers of the test app."""

from __future__ import annotations

from rest_framework import serializers

from tests.testapp.models import Note, Sample, Tag


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
