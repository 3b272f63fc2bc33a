"""The library's answer per row is DRF's: cases where the batch validation once differed.

Each test validates rows through ``BatchValidator`` (the import's and the preview's validation)
and through a fresh DRF serializer's ``is_valid()`` on the same data and database, and compares
them (``fidelity.compare``); ``test_fidelity_generated`` generates many more such cases.
"""

from __future__ import annotations

import inspect

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

from tests.imports.fidelity import compare, drf_answer, library_answers
from tests.testapp.models import Category, FidelityImportJob, FidelityThing

pytestmark = pytest.mark.django_db

#: DRF 3.16 honours a constraint's condition (``UniqueTogetherValidator(condition=...)``); the
#: library answers as the DRF it runs with, which the low leg (3.15.1) shows.
CONDITIONS = "condition" in inspect.signature(UniqueTogetherValidator.__init__).parameters


class ThingSerializer(serializers.ModelSerializer):
    class Meta:
        model = FidelityThing
        fields = ("code", "title", "active")


class CaseInsensitiveCodeSerializer(serializers.ModelSerializer):
    code = serializers.CharField(
        max_length=12,
        validators=[UniqueValidator(queryset=FidelityThing.objects.all(), lookup="iexact")],
    )

    class Meta:
        model = FidelityThing
        fields = ("code", "title")


class UpperKeysSerializer(serializers.ModelSerializer):
    """Places each value under its upper-case name (``set_value`` is public since DRF 3.15)."""

    class Meta:
        model = FidelityThing
        fields = ("code", "title")

    def set_value(self, dictionary, keys, value):
        super().set_value(dictionary, [key.upper() for key in keys], value)


def test_a_conditional_unique_constraint_is_checked_as_drf_checks_it():
    """Only active rows must not share a code: an inactive "bob" leaves "bob" free."""
    FidelityThing.objects.create(code="bob", active=False)
    FidelityThing.objects.create(code="ann", active=True)
    rows = [["bob", "x", "true"], ["ann", "y", "true"], ["ann", "z", "false"]]
    answers = library_answers(FidelityImportJob, ThingSerializer, ["code", "title", "active"], rows)
    if CONDITIONS:
        assert answers[0] == ("valid", {"code": "bob", "title": "x", "active": True})
        assert answers[1] == (
            "invalid",
            {("", "The fields code must make a unique set.", "unique")},
        )
        assert answers[2][0] == "valid"
    else:  # DRF before 3.16 checks the code alone, field by field: ``compare`` holds the rest
        assert answers[1] == (
            "invalid",
            {("code", "fidelity thing with this code already exists.", "unique")},
        )
    compare(FidelityImportJob, ThingSerializer, ["code", "title", "active"], rows)


def test_an_iexact_unique_validator_refuses_another_case():
    FidelityThing.objects.create(code="Bob")
    rows = [["BOB", "a"], ["bob", "b"], ["Bobby", "c"], ["ÅSA", "d"]]
    answers = library_answers(
        FidelityImportJob, CaseInsensitiveCodeSerializer, ["code", "title"], rows
    )
    assert [kind for kind, _ in answers] == ["invalid", "invalid", "valid", "valid"]
    assert answers[0][1] == {("code", "This field must be unique.", "unique")}
    compare(FidelityImportJob, CaseInsensitiveCodeSerializer, ["code", "title"], rows)


def test_an_iexact_unique_validator_costs_one_query_per_batch():
    FidelityThing.objects.create(code="Bob")
    counts = []
    for size in (3, 30):
        rows = [[f"name{i}", "t"] for i in range(size)] + [["BOB", "t"]]
        with CaptureQueriesContext(connection) as queries:
            answers = library_answers(
                FidelityImportJob, CaseInsensitiveCodeSerializer, ["code", "title"], rows
            )
        assert answers[-1][0] == "invalid"
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_an_overridden_set_value_places_the_values():
    rows = [["sku-1", "a"]]
    answers = library_answers(FidelityImportJob, UpperKeysSerializer, ["code", "title"], rows)
    assert answers == [("valid", {"CODE": "sku-1", "TITLE": "a"})]
    assert drf_answer(UpperKeysSerializer, {"code": "sku-1", "title": "a"}) == answers[0]


def test_a_unique_error_comes_beside_the_other_errors_of_the_row():
    """DRF checks a field's uniqueness whatever the other fields hold: so does the library."""
    FidelityThing.objects.create(code="Bob")
    rows = [["BOB", "x" * 30]]
    answers = library_answers(
        FidelityImportJob, CaseInsensitiveCodeSerializer, ["code", "title"], rows
    )
    assert answers[0][1] == {
        ("code", "This field must be unique.", "unique"),
        ("title", "Ensure this field has no more than 20 characters.", "max_length"),
    }
    compare(FidelityImportJob, CaseInsensitiveCodeSerializer, ["code", "title"], rows)


def test_a_unique_validator_on_a_filtered_queryset_keeps_its_filter():
    class ActiveCodeSerializer(serializers.ModelSerializer):
        code = serializers.CharField(
            validators=[UniqueValidator(queryset=FidelityThing.objects.filter(Q(active=True)))]
        )

        class Meta:
            model = FidelityThing
            fields = ("code", "title")

    FidelityThing.objects.create(code="old", active=False)
    FidelityThing.objects.create(code="new", active=True)
    rows = [["old", "a"], ["new", "b"]]
    answers = library_answers(FidelityImportJob, ActiveCodeSerializer, ["code", "title"], rows)
    assert [kind for kind, _ in answers] == ["valid", "invalid"]
    compare(FidelityImportJob, ActiveCodeSerializer, ["code", "title"], rows)


class CategorySerializer(serializers.ModelSerializer):
    by_pk = serializers.PrimaryKeyRelatedField(
        source="category", queryset=Category.objects.all(), required=False
    )

    class Meta:
        model = FidelityThing
        fields = ("code", "by_pk")


class CategoryCodeSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", queryset=Category.objects.all())

    class Meta:
        model = FidelityThing
        fields = ("code", "category")


def test_a_pk_of_the_wrong_type_is_refused_as_drf_refuses_it():
    """Found by the generated comparison: the library said "does not exist"."""
    category = Category.objects.create(code="tools")
    rows = [["a", "bob"], ["b", "1.5"], ["c", f" {category.pk}"], ["d", "999"]]
    answers = compare(FidelityImportJob, CategorySerializer, ["code", "by_pk"], rows)
    assert [kind for kind, _ in answers] == ["invalid", "invalid", "valid", "invalid"]
    assert answers[0][1] == {
        ("by_pk", "Incorrect type. Expected pk value, received str.", "incorrect_type")
    }


def test_a_slug_is_looked_up_as_it_is():
    """DRF looks `` tools`` up with its space: it names nothing."""
    Category.objects.create(code="tools")
    rows = [["a", " tools"], ["b", "tools"]]
    answers = compare(FidelityImportJob, CategoryCodeSerializer, ["code", "category"], rows)
    assert [kind for kind, _ in answers] == ["invalid", "valid"]


def test_a_row_updating_a_stored_row_keeps_its_code_as_drf_with_that_instance(monkeypatch):
    """The conditional set is DRF's own validator; a row that updates a stored row (natural
    key ``title``) is checked with that row as instance, as DRF would check an update."""
    monkeypatch.setattr(FidelityImportJob, "natural_key", ("title",))
    stored = FidelityThing.objects.create(code="bob", title="first", active=True)
    rows = [["bob", "first", "true"], ["bob", "second", "true"]]
    answers = library_answers(FidelityImportJob, ThingSerializer, ["code", "title", "active"], rows)
    assert [kind for kind, _ in answers] == ["valid", "invalid"]
    update = ThingSerializer(stored, data={"code": "bob", "title": "first", "active": "true"})
    assert update.is_valid()
    assert (
        drf_answer(ThingSerializer, {"code": "bob", "title": "second", "active": "true"})
        == (answers[1])
    )


def test_a_unique_set_with_an_optional_field_requires_it_as_drf_does():
    """DRF's ``UniqueTogetherValidator`` requires every field of its set in the data; the
    stand-in skips that check only when it would find nothing missing."""

    class CodeAndQtySerializer(serializers.ModelSerializer):
        class Meta:
            model = FidelityThing
            fields = ("code", "qty")
            validators = [
                UniqueTogetherValidator(
                    queryset=FidelityThing.objects.all(), fields=("code", "qty")
                )
            ]

    FidelityThing.objects.create(code="taken", qty=1)
    rows = [["a", ""], ["b", "2"], ["taken", "1"], ["c", "x"]]
    answers = compare(FidelityImportJob, CodeAndQtySerializer, ["code", "qty"], rows)
    assert answers[0] == ("valid", {"code": "a", "qty": None})  # a blank cell is a null
    assert answers[1][0] == "valid"
    assert answers[2][0] == "invalid"
    only_code = compare(FidelityImportJob, CodeAndQtySerializer, ["code"], [["d"]])
    assert only_code == [("invalid", {("qty", "This field is required.", "required")})]
