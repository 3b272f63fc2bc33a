"""
Serializer fields for rows that carry relations with data of their own, and files.

DRF's ``SlugRelatedField(many=True)`` and ``PrimaryKeyRelatedField(many=True)`` already say "these
related objects", and the import engine reads them from one cell split on the job type's
separator (``red;blue``). Two things DRF has no field for:

- ``ThroughManyField``: related objects with data of their own on the through model, e.g. the
  bands an artist played in with the date they joined (``Walter-Hodges:1971-09-22``);
- ``FileFromURLField``: a model ``FileField`` / ``ImageField`` given by a URL, which the import
  downloads into the field's storage (see ``fetching`` for the guards); exports write the stored
  file's URL back.

Both validate a row with DRF's own messages (the extra data through the fields DRF's
``ModelSerializer`` would build for the through model's fields); the import engine does the work
per batch: related objects with one query, through rows and downloads in bulk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField, empty
from rest_framework.relations import PrimaryKeyRelatedField, SlugRelatedField

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import ConfigurationError
from data_exchange_tool.fetching import url_problem


class ThroughItem(NamedTuple):
    """One related object of a ``ThroughManyField`` value and the data of its through row."""

    obj: models.Model
    data: dict[str, Any]


def split_items(text: str, separator: str) -> list[str]:
    """Return the items of a cell: split on ``separator``, stripped, empty ones left out."""
    return [item for item in (part.strip() for part in text.split(separator)) if item]


def _messages(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [str(m) for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list):
        return [str(m) for item in detail for m in _messages(item)]
    return [str(detail)]


class ThroughManyField(serializers.Field):
    """Related objects with data on the through model, as ``key:value;key:value``.

    ::

        bands = ThroughManyField(
            through=Membership, related="band", slug_field="title", extra_fields=["date_joined"]
        )

    :param through: the through model (a class or ``"app_label.Model"``).
    :param related: the through model's foreign key to the related objects (``"band"``).
    :param slug_field: the related model's field that names an object (default ``"pk"``).
    :param extra_fields: the through model's fields given after the key, in this order.
    :param queryset: the related objects a cell may name (default: all of them).
    :param owner: the through model's foreign key to the row's model; found by itself when there
        is exactly one.
    :param separator: between items; ``None``: the job type's ``many_separator``.
    :param key_separator: between an item's key and its values (``":"``). An item is split on its
        first separators, one per extra field in order, so only the last value may hold the
        separator itself (a time, ``10:30``).
    :param allow_empty: whether an empty cell (no related object) is valid.
    """

    default_error_messages = {
        "not_a_list": _('Expected a list of items but got type "{input_type}".'),
        "empty": _("This list may not be empty."),
        "duplicate": _("{key} is listed more than once."),
        "extra": _("{key} ({field}): {message}"),
    }

    def __init__(
        self,
        *,
        through: type[models.Model] | str,
        related: str,
        slug_field: str = "pk",
        extra_fields: Sequence[str] = (),
        queryset: models.QuerySet | None = None,
        owner: str | None = None,
        separator: str | None = None,
        key_separator: str = ":",
        allow_empty: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.through = through
        self.related = related
        self.slug_field = slug_field
        self.extra_fields = tuple(extra_fields)
        self.queryset = queryset
        self.owner = owner
        self.separator = separator
        self.key_separator = key_separator
        self.allow_empty = allow_empty
        self._child: serializers.RelatedField | None = None
        self._extra: dict[str, serializers.Field] | None = None

    # --- the through model -----------------------------------------------------------------

    @property
    def through_model(self) -> type[models.Model]:
        """Return the through model."""
        if isinstance(self.through, str):
            try:
                return apps.get_model(self.through)
            except (LookupError, ValueError) as exc:
                raise ConfigurationError(
                    f"ThroughManyField through={self.through!r} is not an installed model."
                ) from exc
        return self.through

    def through_field(self, name: str) -> models.Field:
        """Return a field of the through model, or raise ``ConfigurationError`` naming it."""
        model = self.through_model
        try:
            return model._meta.get_field(name)  # type: ignore[return-value]  # a column's field
        except FieldDoesNotExist as exc:
            raise ConfigurationError(
                f"ThroughManyField: {model._meta.label} has no field {name!r}."
            ) from exc

    def related_field(self) -> models.ForeignKey:
        """Return the through model's foreign key to the related objects."""
        field = self.through_field(self.related)
        if not (field.many_to_one or field.one_to_one):
            raise ConfigurationError(
                f"ThroughManyField: {self.through_model._meta.label}.{self.related} is not a "
                "foreign key."
            )
        return field  # type: ignore[return-value]

    def owner_field(self, model: type[models.Model]) -> models.ForeignKey:
        """Return the through model's foreign key to ``model``, the model rows are written to."""
        if self.owner is not None:
            return self.through_field(self.owner)  # type: ignore[return-value]
        found = [
            f
            for f in self.through_model._meta.concrete_fields
            if (f.many_to_one or f.one_to_one)
            and f.name != self.related
            and f.related_model is not None
            and issubclass(model, f.related_model)
        ]
        if len(found) != 1:
            raise ConfigurationError(
                f"ThroughManyField: {self.through_model._meta.label} has {len(found)} foreign "
                f"keys to {model._meta.label}; name the one to use with owner=..."
            )
        return found[0]  # type: ignore[return-value]

    def row_model(self) -> type[models.Model] | None:
        """Return the model of the serializer this field belongs to, when it has one."""
        meta = getattr(getattr(self, "parent", None), "Meta", None)
        return getattr(meta, "model", None)

    def check_configuration(self, model: type[models.Model]) -> list[str]:
        """Return what is wrong with the declaration for rows of ``model`` (nothing: [])."""
        try:
            self.related_field()
            self.owner_field(model)
            self.child_relation  # noqa: B018 - builds the related field: slug_field must exist
            self.extra  # noqa: B018
        except ConfigurationError as exc:
            return [str(exc)]
        return []

    # --- the fields each part of an item goes through --------------------------------------

    @property
    def child_relation(self) -> serializers.RelatedField:
        """Return the DRF field that turns an item's key into its related object."""
        if self._child is None:
            related_model = self.related_field().related_model
            queryset = self.queryset
            if queryset is None:
                queryset = related_model._default_manager.all()
            if self.slug_field == "pk":
                child: serializers.RelatedField = PrimaryKeyRelatedField(queryset=queryset)
            else:
                try:
                    related_model._meta.get_field(self.slug_field.split("__")[0])
                except FieldDoesNotExist as exc:
                    raise ConfigurationError(
                        f"ThroughManyField: {related_model._meta.label} has no field "
                        f"{self.slug_field!r} (slug_field)."
                    ) from exc
                child = SlugRelatedField(slug_field=self.slug_field, queryset=queryset)
            child.bind(field_name="", parent=self)  # type: ignore[arg-type]  # any Field will do
            self._child = child
        return self._child

    @property
    def extra(self) -> dict[str, serializers.Field]:
        """Return ``{extra field: the DRF field ModelSerializer builds for it}``."""
        if self._extra is None:
            builder: serializers.ModelSerializer[Any] = serializers.ModelSerializer()
            extra: dict[str, serializers.Field] = {}
            for name in self.extra_fields:
                model_field = self.through_field(name)
                if model_field.is_relation or not model_field.concrete:
                    raise ConfigurationError(
                        f"ThroughManyField: extra field {name!r} of "
                        f"{self.through_model._meta.label} must be a plain field."
                    )
                field_class, kwargs = builder.build_standard_field(name, model_field)
                kwargs.pop("read_only", None)
                field = field_class(**kwargs)
                field.bind(field_name=name, parent=self)  # type: ignore[arg-type]  # any Field will do
                extra[name] = field
            self._extra = extra
        return self._extra

    # --- reading a cell --------------------------------------------------------------------

    def item_separator(self) -> str:
        """Return the separator between items when the field splits a cell itself."""
        return self.separator or app_settings.MANY_SEPARATOR

    def items_of(self, data: Any) -> list[str]:
        """Return the item texts of a cell (a text, or a list already split)."""
        if isinstance(data, str):
            return split_items(data, self.item_separator())
        if isinstance(data, list | tuple):
            return [str(item).strip() for item in data if str(item).strip()]
        self.fail("not_a_list", input_type=type(data).__name__)
        return []  # not reached: fail raises

    def parse_item(self, text: str) -> tuple[str, list[str]]:
        """Return an item's key and its values, split on the first separators in order."""
        if not self.extra_fields:
            return text.strip(), []
        key, *values = text.split(self.key_separator, len(self.extra_fields))
        return key.strip(), [value.strip() for value in values]

    def keys_of(self, data: Any) -> set[str]:
        """Return the keys a cell names (to load their objects for a batch at once)."""
        try:
            return {self.parse_item(item)[0] for item in self.items_of(data)}
        except ValidationError:
            return set()

    def to_internal_value(self, data: Any) -> list[ThroughItem]:
        """Return the related objects with their through data; errors name their item."""
        items = self.items_of(data)
        if not items and not self.allow_empty:
            self.fail("empty")
        result: list[ThroughItem] = []
        errors: list[str] = []
        seen: set[Any] = set()
        for text in items:
            key, values = self.parse_item(text)
            try:
                obj = self.child_relation.to_internal_value(key)
            except ValidationError as exc:
                errors.extend(_messages(exc.detail))
                continue
            extra, problems = self.extra_values(key, values)
            if obj.pk in seen:
                problems.append(self.error_messages["duplicate"].format(key=key))
            seen.add(obj.pk)
            errors.extend(problems)
            if not problems:
                result.append(ThroughItem(obj, extra))
        if errors:
            raise ValidationError(errors)
        return result

    def extra_values(self, key: str, values: list[str]) -> tuple[dict[str, Any], list[str]]:
        """Return an item's extra data, validated by each field, and the errors naming it."""
        data: dict[str, Any] = {}
        errors: list[str] = []
        for index, (name, field) in enumerate(self.extra.items()):
            text = values[index] if index < len(values) else ""
            try:
                data[name] = field.run_validation(self.primitive(field, text))
            except SkipField:
                data[name] = self.through_field(name).get_default()
            except ValidationError as exc:
                template = self.error_messages["extra"]
                errors.extend(
                    template.format(key=key, field=name, message=message)
                    for message in _messages(exc.detail)
                )
        return data, errors

    @staticmethod
    def primitive(field: serializers.Field, text: str) -> Any:
        """Return what an item's value means for its field: an empty one is blank, null or
        missing, as an empty cell is."""
        if text:
            return text
        if getattr(field, "allow_blank", False):
            return ""
        if field.allow_null:
            return None
        return empty

    # --- writing a cell --------------------------------------------------------------------

    def key_of(self, obj: models.Model) -> Any:
        """Return the value that names a related object in a cell."""
        if self.slug_field == "pk":
            return obj.pk
        value: Any = obj
        for name in self.slug_field.split("__"):
            value = getattr(value, name)
        return value

    def render_item(self, key: Any, values: Sequence[Any]) -> str:
        """Return one item's text: the key, then each extra value, joined by the key separator."""
        texts = [str(key)]
        for field, value in zip(self.extra.values(), values, strict=True):
            texts.append("" if value is None else str(field.to_representation(value)))
        return self.key_separator.join(texts)

    def get_attribute(self, instance: Any) -> Any:
        """Return the instance itself: its through rows are read by ``to_representation``."""
        return instance

    def to_representation(self, value: Any) -> str:
        """Return the cell of one instance (the export engine reads whole chunks instead)."""
        model = type(value)
        if getattr(value, "pk", None) is None:
            return ""
        owner = self.owner_field(model).name
        rows = (
            self.through_model._default_manager.filter(**{owner: value})
            .select_related(self.related)
            .order_by("pk")
        )
        return self.item_separator().join(
            self.render_item(
                self.key_of(getattr(row, self.related)),
                [getattr(row, name) for name in self.extra_fields],
            )
            for row in rows
        )


class FileFromURLField(serializers.CharField):
    """A model ``FileField`` / ``ImageField`` given by the URL of the file.

    The preview checks the URL's form (``http`` or ``https``, a host); the import downloads the
    file into the model field's storage, where ``FieldFile.save`` would put it, named after the
    URL's file with a short digest of the URL (``lamp-1a2b3c4d.png``). A URL equal to the
    row's current file's URL (an exported file imported back) keeps the file: nothing is
    downloaded. Exports write the stored file's URL (absolute when the storage gives one, or
    when the serializer's context holds a request).
    """

    def to_internal_value(self, data: Any) -> str:
        """Return the URL; one with a scheme must be one that may be downloaded."""
        text = super().to_internal_value(data)
        if text and (urlsplit(text).scheme or text.startswith("//")):
            problem = url_problem(text)
            if problem is not None:
                raise ValidationError(problem)
        return text

    def to_representation(self, value: Any) -> str:
        """Return the URL of a stored file ("" when there is none)."""
        if not value:
            return ""
        url = value.url if hasattr(value, "url") else str(value)
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url
