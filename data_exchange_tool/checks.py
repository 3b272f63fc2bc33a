"""
System checks: a misdeclared job type fails at start-up with a message naming the fix.

- ``data_exchange_tool.E001``: a subclass of ImportJob that is not a proxy.
- ``data_exchange_tool.E002``: the target model is missing or not an installed model.
- ``data_exchange_tool.E003``: the serializer class is missing, cannot be imported or is not a
  DRF serializer.
- ``data_exchange_tool.E004``: a natural key field is not written by the serializer.
- ``data_exchange_tool.E005``: the serializer writes a field the import cannot write: a nested
  writable serializer, a ``many=True`` field that is not a ``SlugRelatedField`` /
  ``PrimaryKeyRelatedField`` on a many-to-many field of the target, or a misdeclared
  ``ThroughManyField``.
- ``data_exchange_tool.W001``: the database cannot enforce the lock per target.
- ``data_exchange_tool.W002``: no index of the target starts with a column of the job type's
  natural key: each batch's lookup of the rows it updates would read the whole table.
- ``data_exchange_tool.E010``: an export job type has no target, or no serializer (none declared
  and no import job type of the same target to borrow one from).
- ``data_exchange_tool.E011``: an export job type's ``filterset_class`` cannot be imported or is
  not a django-filter FilterSet of its target.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models
from rest_framework import serializers
from rest_framework.relations import ManyRelatedField, PrimaryKeyRelatedField, SlugRelatedField

from data_exchange_tool.exceptions import ConfigurationError
from data_exchange_tool.fields import ThroughManyField
from data_exchange_tool.registry import job_types

if TYPE_CHECKING:
    from data_exchange_tool.models import ImportJob


@checks.register(checks.Tags.models)
def check_job_types(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check every ImportJob subclass."""
    from data_exchange_tool.models import ImportJob

    messages: list[checks.CheckMessage] = []
    for model in _import_job_subclasses(ImportJob):
        if not model._meta.proxy:
            messages.append(
                checks.Error(
                    f"{model.__name__} subclasses ImportJob but is not a proxy.",
                    hint="Add `proxy = True` to its Meta: job types add no fields.",
                    obj=model,
                    id="data_exchange_tool.E001",
                )
            )
    for model in job_types(ImportJob):
        messages.extend(_check_job_type(model))
    return messages


def _import_job_subclasses(base: type[ImportJob]) -> list[type[ImportJob]]:
    found: list[type[ImportJob]] = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_import_job_subclasses(sub))
    return found


def _check_job_type(model: Any) -> list[checks.CheckMessage]:
    try:
        model.get_target_model()
    except ConfigurationError as exc:
        return [
            checks.Error(
                str(exc),
                obj=model,
                id="data_exchange_tool.E002",
                hint="Set Meta.target_model to the model rows are written to.",
            )
        ]
    try:
        serializer_class = model.get_serializer_class()
    except ConfigurationError as exc:
        return [
            checks.Error(
                str(exc),
                obj=model,
                id="data_exchange_tool.E003",
                hint="Set Meta.serializer_class to a DRF serializer or its path.",
            )
        ]
    if not (
        isinstance(serializer_class, type) and issubclass(serializer_class, serializers.Serializer)
    ):
        return [
            checks.Error(
                f"{model.__name__}.serializer_class {serializer_class!r} is not a DRF Serializer.",
                hint="Use a rest_framework.serializers.Serializer (or ModelSerializer) subclass.",
                obj=model,
                id="data_exchange_tool.E003",
            )
        ]
    return _check_serializer_fields(model, serializer_class())


def _check_serializer_fields(model: Any, serializer: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    written = {f.source for f in serializer.fields.values() if not f.read_only}
    missing = [name for name in model.get_natural_key() if name not in written]
    if missing:
        messages.append(
            checks.Error(
                f"{model.__name__}.natural_key {missing} is not written by its serializer.",
                hint="Name fields the serializer writes, or add them to the serializer.",
                obj=model,
                id="data_exchange_tool.E004",
            )
        )
    target = model.get_target_model()
    if not missing:
        messages.extend(_check_natural_key_index(model, target))
    problems = {
        name: unsupported_field(field, target)
        for name, field in serializer.fields.items()
        if not field.read_only
    }
    problems = {name: problem for name, problem in problems.items() if problem}
    if problems:
        messages.append(
            checks.Error(
                f"{model.__name__}'s serializer writes many-to-many or nested fields "
                f"{list(problems)} that the import cannot write: "
                + " ".join(f"{name}: {problem}" for name, problem in problems.items()),
                hint="Import them through a job type of the related model, or make them "
                "read-only (see the README's 'Relations and files').",
                obj=model,
                id="data_exchange_tool.E005",
            )
        )
    return messages


def unsupported_field(field: serializers.Field, target: Any) -> str:
    """Return why the import cannot write ``field`` into ``target`` ("" when it can)."""
    if isinstance(field, serializers.BaseSerializer):
        return "nested writable serializers are not supported."
    if isinstance(field, ThroughManyField):
        return " ".join(field.check_configuration(target))
    if isinstance(field, ManyRelatedField):
        return _many_related_problem(field, target)
    return ""


def _many_related_problem(field: ManyRelatedField, target: Any) -> str:
    child = field.child_relation
    natural = isinstance(child, SlugRelatedField) and "__" not in child.slug_field
    by_pk = isinstance(child, PrimaryKeyRelatedField) and child.pk_field is None
    if not (natural or by_pk):
        return (
            "many=True is supported for SlugRelatedField and PrimaryKeyRelatedField only "
            "(or use data_exchange_tool.fields.ThroughManyField)."
        )
    try:
        relation = target._meta.get_field(field.source)
    except FieldDoesNotExist:
        relation = None
    if relation is None or not relation.many_to_many:
        return f"{target._meta.label}.{field.source} is not a many-to-many field."
    m2m = getattr(relation, "field", relation)  # the reverse side names its forward field
    if m2m.remote_field.symmetrical and m2m.related_model is m2m.model:
        return "a symmetrical many-to-many field to its own model is not supported."
    if not m2m.remote_field.through._meta.auto_created:
        extra = [
            f.name
            for f in m2m.remote_field.through._meta.concrete_fields
            if not (f.primary_key or f.is_relation or f.has_default() or f.null)
        ]
        if extra:
            return (
                f"its through model needs {extra}: use ThroughManyField(extra_fields=...) to "
                "give them."
            )
    return ""


def _check_natural_key_index(model: Any, target: Any) -> list[checks.CheckMessage]:
    """Warn when no index of the target starts with a column of the natural key: every batch's
    lookup of the rows it updates would read the whole table, a cost growing with the table."""
    names = model.get_natural_key()
    if not names:
        return []
    meta = target._meta
    try:
        fields = [meta.get_field(name) for name in names]
    except FieldDoesNotExist:
        return []  # not a field of the target: the serializer's own check says so
    if any(getattr(f, "column", None) is None or f.model is not target for f in fields):
        return []  # not a column of the target's own table: nothing sure to say
    if _leading_columns(target) & {f.column for f in fields}:
        return []
    label = meta.label
    return [
        checks.Warning(
            f"{model.__name__}'s natural key {list(names)} is not covered by an index of "
            f"{label}: each batch's lookup of the rows it updates reads the whole table.",
            hint=f"Add an index (or a unique constraint) on {list(names)} to {label}, or name "
            "indexed fields as the job type's natural_key.",
            obj=model,
            id="data_exchange_tool.W002",
        )
    ]


def _leading_columns(target: Any) -> set[str]:
    """Return the columns an index of ``target``'s table starts with (primary key, unique or
    indexed fields, Meta.indexes, unique_together and unconditional unique constraints)."""
    meta = target._meta
    found = {
        f.column for f in meta.local_concrete_fields if f.primary_key or f.unique or f.db_index
    }

    def first_column(names: Any) -> None:
        if names:
            with contextlib.suppress(FieldDoesNotExist):
                found.add(meta.get_field(str(names[0]).lstrip("-")).column)

    for index in meta.indexes:
        if getattr(index, "condition", None) is None:
            first_column(index.fields)
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None:
            first_column(constraint.fields)
    for together in meta.unique_together:
        first_column(together)
    return found


@checks.register(checks.Tags.database)
def check_database(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """Warn when the database cannot enforce the partial unique constraint of the lock."""
    messages = []
    for alias in databases or ():
        if not connections[alias].features.supports_partial_indexes:
            messages.append(
                checks.Warning(
                    f"Database {alias!r} does not support partial unique constraints, so it cannot "
                    "enforce one running import per target.",
                    hint="Use PostgreSQL or SQLite for the data_exchange_tool tables.",
                    id="data_exchange_tool.W001",
                )
            )
    return messages


@checks.register(checks.Tags.models)
def check_export_job_types(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check every export job type: target, serializer (own or borrowed) and FilterSet."""
    from data_exchange_tool.models import ExportJob

    messages: list[checks.CheckMessage] = []
    for model in job_types(ExportJob):
        try:
            model.get_target_model()
            model.get_serializer_class()
        except ConfigurationError as exc:
            messages.append(checks.Error(str(exc), obj=model, id="data_exchange_tool.E010"))
            continue
        messages.extend(_check_filterset(model))
    return messages


def _check_filterset(model: Any) -> list[checks.CheckMessage]:
    from django_filters import FilterSet

    try:
        filterset_class = model.get_filterset_class()
    except ConfigurationError as exc:
        return [checks.Error(str(exc), obj=model, id="data_exchange_tool.E011")]
    if filterset_class is None:
        return []
    target = model.get_target_model()
    if not (isinstance(filterset_class, type) and issubclass(filterset_class, FilterSet)):
        problem = f"{filterset_class!r} is not a django-filter FilterSet"
    # FilterSetMetaclass sets ``_meta`` (FilterSetOptions); the stubs do not declare it.
    elif (filtered := filterset_class._meta.model) not in (None, target):  # type: ignore[attr-defined]
        problem = f"{filterset_class.__name__} filters {filtered._meta.label}"
    else:
        return []
    return [
        checks.Error(
            f"{model.__name__}.filterset_class: {problem}.",
            hint=f"Use a FilterSet whose Meta.model is {target._meta.label}.",
            obj=model,
            id="data_exchange_tool.E011",
        )
    ]
