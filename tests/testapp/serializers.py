"""Serializers of the test app."""

from __future__ import annotations

from rest_framework import serializers

from tests.testapp.models import Tag


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ("code", "label", "weight")
