"""System checks: a misdeclared job type fails at start-up with a message naming the fix."""

from __future__ import annotations

import gc

import pytest
from django.core.management import call_command
from django.db import connections, models
from django.test.utils import isolate_apps
from rest_framework import serializers

from data_exchange_tool import registry
from data_exchange_tool.checks import check_database, check_job_types
from data_exchange_tool.fields import ThroughManyField
from data_exchange_tool.models import ImportJob
from tests.testapp.models import Artist, Band, CatalogueItem, Membership, Tag
from tests.testapp.serializers import ArtistSerializer, CatalogueItemSerializer, TagSerializer


class TagsWithManySerializer(serializers.Serializer):
    code = serializers.CharField()
    related = serializers.PrimaryKeyRelatedField(many=True, queryset=Tag.objects.all())


@pytest.fixture
def isolated():
    """Declare job types in a throw-away app registry; forget them afterwards."""
    saved = dict(registry._job_types)
    with isolate_apps("tests.testapp"):
        yield
    registry._job_types.clear()
    registry._job_types.update(saved)
    gc.collect()


def job_type(name: str, **options) -> type:
    """Declare a proxy job type with ``options`` in its Meta."""
    meta = type("Meta", (), {"proxy": True, "app_label": "testapp", **options})
    return type(name, (ImportJob,), {"__module__": __name__, "Meta": meta})


def errors_for(model: type) -> list:
    return [m for m in check_job_types() if m.obj is model]


def test_the_declared_job_types_pass():
    assert check_job_types() == []


@pytest.mark.django_db
def test_the_check_command_passes():
    call_command("check", fail_level="WARNING")


def test_a_well_declared_type_passes(isolated):
    good = job_type("GoodJob", target_model=Tag, serializer_class=TagSerializer)
    assert registry.get_job_type("testapp.goodjob") is good
    assert errors_for(good) == []


def test_a_non_proxy_subclass_is_refused(isolated):
    class ConcreteJob(ImportJob):
        importjob_ptr = models.OneToOneField(
            ImportJob, parent_link=True, on_delete=models.CASCADE, related_name="+"
        )

        class Meta:
            app_label = "testapp"

    [error] = errors_for(ConcreteJob)
    assert error.id == "data_exchange_tool.E001"
    assert "proxy = True" in error.hint


@pytest.mark.parametrize(
    ("options", "code", "words"),
    [
        ({"serializer_class": TagSerializer}, "E002", "needs Meta.target_model"),
        (
            {"target_model": "testapp.Nothing", "serializer_class": TagSerializer},
            "E002",
            "'testapp.Nothing' is not an installed model",
        ),
        ({"target_model": Tag}, "E003", "needs Meta.serializer_class"),
        (
            {"target_model": Tag, "serializer_class": "tests.testapp.serializers.Nope"},
            "E003",
            "cannot be imported",
        ),
        ({"target_model": Tag, "serializer_class": dict}, "E003", "is not a DRF Serializer"),
        (
            {"target_model": Tag, "serializer_class": TagSerializer, "natural_key": ("slug",)},
            "E004",
            "natural_key ['slug'] is not written by its serializer",
        ),
        (
            {"target_model": Tag, "serializer_class": TagsWithManySerializer},
            "E005",
            "many-to-many or nested fields ['related']",
        ),
    ],
    ids=["no-target", "bad-target", "no-serializer", "bad-path", "not-serializer", "lookup", "m2m"],
)
def test_misdeclared_job_types_are_reported(isolated, options, code, words):
    bad = job_type("BadJob", **options)
    [error] = errors_for(bad)
    assert error.id == f"data_exchange_tool.{code}"
    assert words in error.msg
    assert "BadJob" in error.msg
    assert error.hint


def test_database_that_can_enforce_the_lock_passes():
    assert check_database(databases=["default"]) == []


def test_database_without_partial_indexes_is_warned_about(monkeypatch):
    monkeypatch.setattr(connections["default"].features, "supports_partial_indexes", False)
    [warning] = check_database(databases=["default"])
    assert warning.id == "data_exchange_tool.W001"
    assert "one running import per target" in warning.msg


class NestedSerializer(serializers.Serializer):
    code = serializers.CharField()
    parent = TagSerializer()


class HyperlinkedManySerializer(serializers.Serializer):
    code = serializers.CharField()
    tags = serializers.HyperlinkedRelatedField(
        many=True, view_name="tag-detail", queryset=Tag.objects.all()
    )


class ThroughWrongSerializer(serializers.Serializer):
    name = serializers.CharField()
    bands = ThroughManyField(through=Membership, related="band", extra_fields=["year"])


@pytest.mark.parametrize(
    ("target", "serializer_class", "words"),
    [
        (Tag, NestedSerializer, "parent: nested writable serializers are not supported."),
        (CatalogueItem, HyperlinkedManySerializer, "many=True is supported for SlugRelatedField"),
        (Artist, ThroughWrongSerializer, "testapp.Membership has no field 'year'"),
        (Tag, TagsWithManySerializer, "testapp.Tag.related is not a many-to-many field."),
    ],
    ids=["nested", "hyperlinked", "through", "not-m2m"],
)
def test_what_the_import_cannot_write_is_named(isolated, target, serializer_class, words):
    bad = job_type("BadJob", target_model=target, serializer_class=serializer_class)
    [error] = errors_for(bad)
    assert error.id == "data_exchange_tool.E005"
    assert words in error.msg


def test_many_to_many_by_natural_key_and_through_data_pass(isolated):
    for name, target, serializer_class in (
        ("TagsJob", CatalogueItem, CatalogueItemSerializer),
        ("BandsJob", Artist, ArtistSerializer),
    ):
        assert (
            errors_for(job_type(name, target_model=target, serializer_class=serializer_class)) == []
        )


def test_a_many_field_on_a_through_model_with_required_data_is_refused(isolated):
    class BandsByTitle(serializers.ModelSerializer):
        bands = serializers.SlugRelatedField(
            many=True, slug_field="title", queryset=Band.objects.all()
        )

        class Meta:
            model = Artist
            fields = ("name", "bands")

    [error] = errors_for(job_type("BadJob", target_model=Artist, serializer_class=BandsByTitle))
    assert "its through model needs ['date_joined']: use ThroughManyField" in error.msg


@pytest.mark.parametrize(
    ("natural_key", "warned"),
    [
        (("weight",), True),  # no index starts with it
        (("code",), False),  # unique
        (("weight", "label"), False),  # label is unique: a probe per key finds one row
        (("id",), False),  # the primary key
    ],
    ids=["unindexed", "unique", "one-column-indexed", "pk"],
)
def test_a_natural_key_no_index_starts_with_is_warned_about(isolated, natural_key, warned):
    class TagWithIdSerializer(serializers.ModelSerializer):
        class Meta:
            model = Tag
            fields = ("id", "code", "label", "weight")
            extra_kwargs = {"id": {"read_only": False, "required": False}}

    job = job_type(
        "KeyedTagJob",
        target_model=Tag,
        serializer_class=TagWithIdSerializer,
        natural_key=natural_key,
    )
    found = errors_for(job)
    if not warned:
        assert found == []
        return
    [warning] = found
    assert warning.id == "data_exchange_tool.W002"
    assert "natural key ['weight'] is not covered by an index of testapp.Tag" in warning.msg
    assert "reads the whole table" in warning.msg
    assert "Add an index" in warning.hint


def test_an_index_or_constraint_declared_in_meta_covers_the_natural_key(isolated):
    class Shelf(models.Model):
        code = models.CharField(max_length=8)
        row = models.IntegerField()
        bay = models.IntegerField()

        class Meta:
            app_label = "testapp"
            indexes = [models.Index(fields=["-row", "bay"])]
            constraints = [models.UniqueConstraint(fields=["bay", "code"], name="bay_code")]

    class ShelfSerializer(serializers.ModelSerializer):
        class Meta:
            model = Shelf
            fields = ("code", "row", "bay")

    for key, warned in ((("row",), False), (("bay",), False), (("code",), True)):
        job = job_type(
            f"Shelf{key[0]}Job",
            target_model=Shelf,
            serializer_class=ShelfSerializer,
            natural_key=key,
        )
        assert [m.id for m in errors_for(job)] == (["data_exchange_tool.W002"] if warned else [])
