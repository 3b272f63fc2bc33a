"""Generated serializers, rows and tables: the library answers each row as DRF's ``is_valid()``.

Hypothesis builds a row serializer over ``FidelityThing`` (field kinds and options, unique
validators with lookups, querysets and conditions, related fields, overridden hooks), the stored
rows, and a batch of rows of cell texts (valid ones, blanks, spaces, odd unicode, NUL), then
``fidelity.compare`` checks every row: the library's validated data, or its errors with their
codes, equal DRF's for the data the library hands the serializer. The library's own rules are
left out of the comparison: a NUL refuses the row before DRF sees it, a later row of the file
repeating a unique key is refused, and a value the database column would refuse is refused.

Derandomized (the same examples on every run) and bounded: ``max_examples`` below, about 10 s
on SQLite; ``tests/integration/test_fidelity.py`` runs it on PostgreSQL too.
A failing example found is kept as an ``@example`` or a test of ``test_fidelity``.
"""

from __future__ import annotations

import inspect
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Q
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

from tests.imports.fidelity import compare
from tests.testapp.models import Category, FidelityImportJob, FidelityThing

pytestmark = pytest.mark.django_db

CATEGORY_CODES = ("tools", "Tools", "toys", "garden")
TEXTS = (
    "",
    " ",
    "bob",
    "Bob",
    "BOB",
    " bob",
    "bob ",
    "ann",
    "ÅSA",
    "åsa",
    "ǅ",
    "ß",
    "K",
    "taboo",
    "no",
    "x" * 25,
    "0",
    "12",
    " 12",
    "-3",
    "1.5",
    "12.345",
    "1e3",
    "NaN",
    "99999999999",
    "true",
    "false",
    "yes",
    "abc",
    "a\x00b",
    "tools",
    " toys",
    "TOOLS",
    "1",
    "2",
    "999",
)

CONDITIONS = "condition" in inspect.signature(UniqueTogetherValidator.__init__).parameters


class LowerCharField(serializers.CharField):
    """A field overriding ``to_internal_value``."""

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data).lower()


class StrippingCharField(serializers.CharField):
    """A field overriding ``run_validation``."""

    def run_validation(self, data: Any = empty) -> Any:
        return super().run_validation(data.strip("x") if isinstance(data, str) else data)


def _code_field(kind: str, options: dict[str, Any], unique: str) -> serializers.Field:
    validators: list[Any] = []
    if unique == "exact":
        validators.append(UniqueValidator(queryset=FidelityThing.objects.all()))
    elif unique == "iexact":
        validators.append(UniqueValidator(queryset=FidelityThing.objects.all(), lookup="iexact"))
    elif unique == "active":
        validators.append(UniqueValidator(queryset=FidelityThing.objects.filter(active=True)))
    elif unique == "istartswith":
        validators.append(
            UniqueValidator(queryset=FidelityThing.objects.all(), lookup="istartswith")
        )
    field_class = {
        "char": serializers.CharField,
        "lower": LowerCharField,
        "strip": StrippingCharField,
    }[kind]
    return field_class(validators=validators, **options)


@st.composite
def serializer_classes(draw: st.DrawFn) -> tuple[type, list[str]]:
    """Return a row serializer class and the fields it writes (the file's headers)."""
    if draw(st.integers(0, 4)) == 0:  # ModelSerializer's own fields and validators
        attrs: dict[str, Any] = {}
        names = ["code", "title", "qty", "price", "active", "category"]
        meta = type("Meta", (), {"model": FidelityThing, "fields": tuple(names)})
        attrs["Meta"] = meta
        return type("DefaultThingSerializer", (serializers.ModelSerializer,), attrs), names
    attrs = {}
    names = ["code"]
    attrs["code"] = _code_field(
        draw(st.sampled_from(["char", "char", "lower", "strip"])),
        {
            "max_length": draw(st.sampled_from([3, 12])),
            "allow_blank": draw(st.booleans()),
            "trim_whitespace": draw(st.booleans()),
        },
        draw(st.sampled_from(["", "exact", "iexact", "active", "istartswith"])),
    )
    if draw(st.booleans()):
        names.append("title")
        attrs["title"] = serializers.CharField(
            required=draw(st.booleans()),
            allow_blank=draw(st.booleans()),
            max_length=draw(st.sampled_from([None, 20, 4])),
        )
    if draw(st.booleans()):
        names.append("qty")
        attrs["qty"] = serializers.IntegerField(
            required=draw(st.booleans()),
            allow_null=draw(st.booleans()),
            min_value=draw(st.sampled_from([None, 0])),
            max_value=draw(st.sampled_from([None, 100])),
        )
    if draw(st.booleans()):
        names.append("price")
        attrs["price"] = serializers.DecimalField(
            max_digits=6,
            decimal_places=2,
            required=draw(st.booleans()),
            allow_null=draw(st.booleans()),
            min_value=draw(st.sampled_from([None, Decimal("0")])),
        )
    if draw(st.booleans()):
        names.append("active")
        attrs["active"] = serializers.BooleanField(required=False)
    related = draw(st.sampled_from(["", "slug", "pk"]))
    if related:
        names.append("category")
        options = {"queryset": Category.objects.all(), "allow_null": draw(st.booleans())}
        attrs["category"] = (
            serializers.SlugRelatedField(slug_field="code", **options)
            if related == "slug"
            else serializers.PrimaryKeyRelatedField(**options)
        )
    validators: list[Any] = []
    # DRF before 3.16 (the low leg) has neither a condition nor nulls_distinct to compare.
    together = draw(
        st.sampled_from(["", "plain", "condition", "nulls"] if CONDITIONS else ["", "plain"])
    )
    if together == "plain" and "title" in names:
        validators.append(
            UniqueTogetherValidator(queryset=FidelityThing.objects.all(), fields=("code", "title"))
        )
    elif together == "condition" and "active" in names:
        validators.append(
            UniqueTogetherValidator(
                queryset=FidelityThing.objects.all(),
                fields=("code",),
                condition_fields=("active",),
                condition=Q(active=True),
            )
        )
    elif together == "nulls" and "qty" in names:
        validators.append(
            UniqueTogetherValidator(
                queryset=FidelityThing.objects.all(), fields=("code", "qty"), nulls_distinct=False
            )
        )
    hooks = draw(st.sets(st.sampled_from(["validate_code", "validate", "set_value", "tiv"])))
    _add_hooks(attrs, hooks)
    attrs["Meta"] = type(
        "Meta", (), {"model": FidelityThing, "fields": tuple(names), "validators": validators}
    )
    return type("ThingSerializer", (serializers.ModelSerializer,), attrs), names


def _validate_code(self: Any, value: str) -> str:
    if value.lower() == "taboo":
        raise serializers.ValidationError("Taboo.", code="taboo")
    return value.upper()


def _validate(self: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    if attrs.get("title") == "no" or attrs.get("TITLE") == "no":
        raise serializers.ValidationError("No title.", code="no_title")
    return attrs


def _set_value(self: Any, dictionary: dict, keys: list[str], value: Any) -> None:
    serializers.ModelSerializer.set_value(self, dictionary, [k.upper() for k in keys], value)


def _to_internal_value(self: Any, data: Any) -> dict[str, Any]:
    value = serializers.ModelSerializer.to_internal_value(self, data)
    value["seen"] = True
    return value


def _add_hooks(attrs: dict[str, Any], hooks: set[str]) -> None:
    table = {
        "validate_code": _validate_code,
        "validate": _validate,
        "set_value": _set_value,
        "tiv": _to_internal_value,
    }
    for hook in hooks:
        attrs["to_internal_value" if hook == "tiv" else hook] = table[hook]


stored_things = st.lists(
    st.tuples(
        st.sampled_from(["bob", "Bob", "ann", "ÅSA", "toolshed", "x" * 12]),
        st.booleans(),
        st.sampled_from([None, 1, 12]),
        st.sampled_from(["", "no", "bob"]),
    ),
    max_size=4,
)


def _store(things: list[tuple[str, bool, int | None, str]], categories: list[str]) -> None:
    FidelityThing.objects.all().delete()
    Category.objects.all().delete()
    for code in categories:
        Category.objects.create(code=code)
    active_codes: set[str] = set()
    for code, active, qty, title in things:
        if active and code in active_codes:  # the table's own constraint
            continue
        active_codes.update([code] if active else [])
        FidelityThing.objects.create(code=code, active=active, qty=qty, title=title)


#: Texts each column usually holds (the rest of the time, any of ``TEXTS``).
USUAL = {
    "code": ("bob", "Bob", "BOB", "ann", "ANN", "ÅSA", "åsa", "toolshed", "TOOLSHED", "new"),
    "title": ("", "no", "bob", "a title"),
    "qty": ("", "1", "12", "50"),
    "price": ("", "1.50", "0", "3"),
    "active": ("true", "false", ""),
    "category": CATEGORY_CODES,
}


def cell_rows(headers: list[str]) -> st.SearchStrategy[list[list[str]]]:
    """Rows of cells for ``headers``: mostly usual texts, some odd ones."""
    cell = {
        h: st.one_of(st.sampled_from(USUAL[h]), st.sampled_from(USUAL[h]), st.sampled_from(TEXTS))
        for h in headers
    }
    return st.lists(st.tuples(*(cell[h] for h in headers)).map(list), max_size=6)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    spec=serializer_classes(),
    things=stored_things,
    categories=st.lists(st.sampled_from(CATEGORY_CODES), unique=True, max_size=3),
    data=st.data(),
)
def test_the_library_answers_each_row_as_drf(spec, things, categories, data):
    serializer_class, headers = spec
    _store(things, categories)
    rows = data.draw(cell_rows(headers), label="rows")
    check(serializer_class, headers, rows)


def check(serializer_class: type, headers: list[str], rows: list[list[str]]) -> None:
    for kind, found in compare(FidelityImportJob, serializer_class, headers, rows):
        event(kind)
        for code in sorted({code for _, _, code in found} if kind == "invalid" else ()):
            event(f"error code: {code}")
