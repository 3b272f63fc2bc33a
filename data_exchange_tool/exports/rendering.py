"""
Rendering: a queryset's rows as the cells of a file, through the job type's serializer.

Rendering gives the serializer's ``to_representation`` output field by field. When every column
is a model field or a foreign key's natural key (``SlugRelatedField``) or pk, the rows are read
with ``values_list()`` and the database joins the natural keys: no model instance is built.
Otherwise instances are read with ``select_related`` for the natural keys. Either way a chunk
costs one query whatever the columns, plus one per many-to-many column: the through rows of the
chunk's rows (``imports.relations.ThroughTable``), written as the import reads them (the related
natural keys joined by the separator, through data as ``key:value``). A ``FileFromURLField``
column writes the stored file's URL.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import (
    ManyRelatedField,
    PKOnlyObject,
    PrimaryKeyRelatedField,
    RelatedField,
    SlugRelatedField,
)
from rest_framework.settings import api_settings

from data_exchange_tool.conf import app_settings
from data_exchange_tool.imports.columns import is_many
from data_exchange_tool.imports.relations import ThroughTable
from data_exchange_tool.writers import Kind

Getter = Callable[[Any], Any]
#: Fields whose values are containers: written as JSON text.
CONTAINER_FIELDS = (serializers.JSONField, serializers.ListField, serializers.DictField)


def _related_value(source: str, attribute: str) -> Getter:
    def get(obj: Any) -> Any:
        related = getattr(obj, source)
        return None if related is None else getattr(related, attribute)

    return get


def _plain_value(source: str, to_representation: Callable[[Any], Any]) -> Getter:
    def get(obj: Any) -> Any:
        value = getattr(obj, source)
        return None if value is None else to_representation(value)

    return get


def _field_value(field: serializers.Field) -> Getter:
    def get(obj: Any) -> Any:
        try:
            value = field.get_attribute(obj)
        except SkipField:
            return None
        if value is None or (isinstance(value, PKOnlyObject) and value.pk is None):
            return None
        value = field.to_representation(value)
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, default=str)
        return value

    return get


def _as_json(to_representation: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        value = to_representation(value)
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, default=str)
        return value

    return convert


def column_kind(field: serializers.Field) -> Kind:
    """Return what a column holds, so an XLSX export types its cells (numbers, dates)."""
    if isinstance(field, serializers.DecimalField):
        return Kind(Kind.DECIMAL, field.decimal_places)
    if isinstance(field, serializers.IntegerField):
        return Kind(Kind.INTEGER)
    if isinstance(field, serializers.FloatField):
        return Kind(Kind.FLOAT)
    if isinstance(field, serializers.DateField):  # DRF's DateTimeField is not a DateField
        return Kind(Kind.DATE)
    if isinstance(field, serializers.BooleanField):
        return Kind(Kind.BOOLEAN)
    return Kind()


def converter(field: serializers.Field) -> Callable[[Any], Any]:
    """Return ``field.to_representation``, or a faster function with the same output.

    A ``DecimalField`` that renders a string spends most of its time quantizing values the
    database already returns with the right number of places; those are formatted directly.
    """
    if isinstance(field, CONTAINER_FIELDS):
        return _as_json(field.to_representation)
    if not isinstance(field, serializers.DecimalField):
        return field.to_representation
    coerce = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
    if not coerce or field.localize or field.decimal_places is None:
        return field.to_representation
    if getattr(field, "normalize_output", False):
        return field.to_representation
    exponent = -field.decimal_places
    slow = field.to_representation

    def to_text(value: Any) -> Any:
        if isinstance(value, Decimal) and value.as_tuple().exponent == exponent:
            return format(value, "f")
        return slow(value)

    return to_text


class RowRenderer:
    """Render rows of the serializer's readable fields, in field order.

    When every column is a model field or a natural key / pk of a foreign key, rows are read with
    ``values_list()`` (the database joins the natural keys; no model instances are built), which
    is several times faster. Otherwise rows are instances, with ``select_related`` for the natural
    keys, and each column goes through its field's ``get_attribute`` as the serializer would.
    """

    def __init__(
        self,
        serializer: serializers.Serializer,
        model: type[models.Model],
        separator: str | None = None,
    ) -> None:
        self.serializer = serializer
        self.model = model
        fields = [f for f in serializer.fields.values() if not f.write_only]
        self.headers: list[str] = [f.field_name for f in fields]  # type: ignore[misc]  # bound
        #: What each column holds (``writers.Kind``), for typed XLSX cells.
        self.kinds = [column_kind(f) for f in fields]
        default_separator = separator or app_settings.MANY_SEPARATOR
        #: ``(column index, through table, separator)`` of the many-to-many columns, filled
        #: per chunk after the rows are read.
        self.many = [
            (
                index,
                ThroughTable(field.field_name, field, model),  # type: ignore[arg-type]  # bound
                getattr(field, "separator", None) or default_separator,
            )
            for index, field in enumerate(fields)
            if is_many(field)
        ]
        self.select_related: list[str] = []
        self.getters = [self.getter(field) for field in fields]
        columns = [self.value_column(field) for field in fields]
        self.paths: list[str] | None = None
        self.converters: list[Callable[[Any], Any] | None] = []
        if all(column is not None for column in columns):
            self.paths = [column[0] for column in columns]  # type: ignore[index]
            self.converters = [column[1] for column in columns]  # type: ignore[index]

    def _model_field(self, field: serializers.Field) -> Any:
        source = field.source
        if not source or "." in source or source == "*":
            return None
        try:
            model_field = self.model._meta.get_field(source)
        except FieldDoesNotExist:
            return None
        return model_field if getattr(model_field, "concrete", False) else None

    def value_column(self, field: serializers.Field) -> tuple[str, Any] | None:
        """Return ``(values_list path, converter or None)`` for a column, or None."""
        if is_many(field):
            return "pk", None  # a placeholder: filled per chunk from the through table
        model_field = self._model_field(field)
        if model_field is None or isinstance(model_field, models.FileField):
            return None
        single = model_field.many_to_one or model_field.one_to_one
        if isinstance(field, SlugRelatedField) and "__" not in field.slug_field and single:
            return f"{field.source}__{field.slug_field}", None
        source: str = field.source  # type: ignore[assignment]  # set by bind()
        if isinstance(field, PrimaryKeyRelatedField) and field.pk_field is None and single:
            return source, None
        if isinstance(field, RelatedField | ManyRelatedField | serializers.BaseSerializer):
            return None
        if model_field.is_relation:
            return None
        return source, converter(field)

    def getter(self, field: serializers.Field) -> Getter:
        """Return the function that reads one column of an instance."""
        if is_many(field):
            return operator.attrgetter("pk")  # a placeholder: filled per chunk
        model_field = self._model_field(field)
        if model_field is None:
            return _field_value(field)
        source: str = field.source  # type: ignore[assignment]  # set by bind()
        if (
            isinstance(field, SlugRelatedField)
            and "__" not in field.slug_field
            and (model_field.many_to_one or model_field.one_to_one)
        ):
            self.select_related.append(source)
            return _related_value(source, field.slug_field)
        if isinstance(field, RelatedField | ManyRelatedField | serializers.BaseSerializer):
            return _field_value(field)
        if model_field.is_relation:
            return _field_value(field)
        return _plain_value(source, converter(field))

    def prepare(self, queryset: models.QuerySet) -> models.QuerySet:
        """Return ``queryset`` reading what the columns need (values, or related objects)."""
        if self.paths is not None:
            # The pk first, so a distinct() of the filters never merges two rows.
            return queryset.values_list("pk", *self.paths)
        return queryset.select_related(*self.select_related) if self.select_related else queryset

    def render_chunk(self, items: list[Any]) -> list[list[Any]]:
        """Return the rows of a chunk of instances (or ``values_list`` tuples)."""
        if self.paths is None:
            getters = self.getters
            rows = [[get(item) for get in getters] for item in items]
        else:
            converters = self.converters
            rows = [
                [
                    value if value is None or convert is None else convert(value)
                    for convert, value in zip(converters, item[1:])  # noqa: B905 - same length
                ]
                for item in items
            ]
        if self.many:
            self.fill_many(rows, [item.pk if self.paths is None else item[0] for item in items])
        return rows

    def fill_many(self, rows: list[list[Any]], pks: list[Any]) -> None:
        """Write the many-to-many cells of a chunk: one query per such column."""
        for index, table, separator in self.many:
            cells = table.cells(pks, separator)
            for row, pk in zip(rows, pks, strict=True):
                row[index] = cells.get(pk, "")
