"""
Validation of rows in batches through the job type's DRF serializer.

A DRF serializer validates one row well, but a naive loop pays for it per row: building a
serializer costs several times its validation, and related fields and unique validators query the
database once per row. ``BatchValidator`` keeps one serializer for the whole run, validates each
row through it with a ``ValidationPlan`` (DRF's per-row bookkeeping done once) and does the
database work once per batch:

- related fields given by a natural key (``SlugRelatedField``) or a pk (``PrimaryKeyRelatedField``)
  are resolved with one query per field and batch;
- unique validators are taken off the serializer and checked per batch (one query per unique set),
  and the file's own duplicates are found through ``SeenKeys`` (on disk, not in memory);
- existing instances are matched by the lookup fields with one query per batch.

Each row then gets an action: new, update (with its changes), unchanged or invalid.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.relations import PrimaryKeyRelatedField, SlugRelatedField
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.formulas import restore as restore_formula
from data_exchange_tool.lookups import filter_in, filter_keys
from data_exchange_tool.plan import ValidationPlan
from data_exchange_tool.seen import SeenKeys
from data_exchange_tool.states import RowAction

if TYPE_CHECKING:
    from data_exchange_tool.models import ImportJob

OMIT = object()
AMBIGUOUS = object()
#: A text that named no object when it was looked up (see ``BatchRelated.remember_missing``).
MISSING = object()
#: Texts of one related field whose objects are kept between batches.
RELATED_CACHE_SIZE = 20_000


@dataclass(slots=True)
class RowOutcome:
    """What validation found for one row."""

    row_number: int
    cells: list[str]
    data: dict[str, Any]
    action: str = RowAction.NEW
    validated: dict[str, Any] | None = None
    instance: models.Model | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, column: str, message: str) -> None:
        """Mark the row invalid with one more error."""
        self.action = RowAction.INVALID
        self.errors.append((column, message))


def normalize_header(text: str) -> str:
    """Return a header as it is matched: lower case, surrounding spaces removed."""
    return " ".join(str(text).split()).lower()


def empty_value(serializer_field: serializers.Field) -> Any:
    """Return what an empty cell means for a field: None, "", or nothing (omitted)."""
    if serializer_field.allow_null:
        return None
    if getattr(serializer_field, "allow_blank", False):
        return ""
    return OMIT


class ColumnMap:
    """Which column of the file feeds which serializer field.

    A cell our exports neutralised against spreadsheet formulas (``'=...``) gets its text back
    (``formulas.restore``) while ``DATA_EXCHANGE_NEUTRALIZE_FORMULAS`` is on.
    """

    def __init__(
        self,
        headers: Sequence[str],
        fields: dict[str, serializers.Field],
        mapping: dict[str, str],
        required: Sequence[str] = (),
    ) -> None:
        self.headers = list(headers)
        wanted = {normalize_header(k): v for k, v in mapping.items()}
        for name, serializer_field in fields.items():
            wanted.setdefault(normalize_header(name), name)
            if serializer_field.label:
                wanted.setdefault(normalize_header(str(serializer_field.label)), name)
        self.columns: list[tuple[int, str, Any]] = []
        self.header_of: dict[str, str] = {}
        self.restore_formulas = bool(app_settings.NEUTRALIZE_FORMULAS)
        for index, header in enumerate(self.headers):
            name = wanted.get(normalize_header(header))
            if name in fields and name not in self.header_of:
                self.columns.append((index, name, empty_value(fields[name])))
                self.header_of[name] = header
        self._check_required(fields, required)
        self.names = [name for _, name, _ in self.columns]
        self.width = 1 + max((index for index, _, _ in self.columns), default=-1)
        indexes = [index for index, _, _ in self.columns]
        self.pick: Callable[[list[str]], tuple[str, ...]] = (
            operator.itemgetter(*indexes)
            if len(indexes) > 1
            else lambda cells, index=self.width - 1: (cells[index],)
        )

    def _check_required(
        self, fields: dict[str, serializers.Field], required: Sequence[str]
    ) -> None:
        needed = [name for name, f in fields.items() if f.required] + list(required)
        missing = [name for name in dict.fromkeys(needed) if name not in self.header_of]
        if missing:
            found = ", ".join(h for h in self.headers if h.strip()) or "none"
            raise FileFormatError(
                f"Missing required column(s): {', '.join(missing)}. Columns found: {found}."
            )

    def row_data(self, cells: list[str]) -> tuple[dict[str, Any], list[str]]:
        """Return ``({field: text}, [fields holding a NUL character])`` for one row."""
        if len(cells) >= self.width > 0:
            # The common row, checked with a few calls that loop in C: every mapped cell is
            # filled, none holds a NUL, none starts with a quote (a neutralised formula).
            texts = self.pick(cells)
            if all(map(str.strip, texts)):
                joined = "\n".join(texts)
                if "\x00" not in joined and not (
                    self.restore_formulas and (joined[0] == "'" or "\n'" in joined)
                ):
                    return dict(zip(self.names, texts, strict=True)), []
        return self._row_data_cell_by_cell(cells)

    def _row_data_cell_by_cell(self, cells: list[str]) -> tuple[dict[str, Any], list[str]]:
        data: dict[str, Any] = {}
        nul: list[str] = []
        size = len(cells)
        restore = self.restore_formulas
        for index, name, empty in self.columns:
            text = cells[index] if index < size else ""
            if not text or text.isspace():
                if empty is not OMIT:
                    data[name] = empty
            else:
                if "\x00" in text:
                    nul.append(name)
                if restore and text[0] == "'":
                    text = restore_formula(text)
                data[name] = text
        return data, nul

    def values(self, cells: list[str]) -> dict[str, str]:
        """Return the row as ``{header: text}``, as it was in the file."""
        return {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(self.headers) if h}


class BatchRelated:
    """Resolve a DRF related field's natural keys or pks with one query per batch."""

    def __init__(
        self,
        name: str,
        serializer_field: SlugRelatedField | PrimaryKeyRelatedField,
        *,
        remember_missing: bool = True,
    ):
        self.name = name
        self.field = serializer_field
        #: Keep texts that named nothing, so a file's misspelt partner is looked up once, not in
        #: every batch. Off when a ``before_import_row`` hook may create the objects on the way.
        self.remember_missing = remember_missing
        queryset = serializer_field.get_queryset()
        self.attr = getattr(serializer_field, "slug_field", None) or "pk"
        model_field = (
            queryset.model._meta.pk
            if self.attr == "pk"
            else queryset.model._meta.get_field(self.attr)
        )
        self.model_field = model_field
        self.cache: dict[str, Any] = {}
        serializer_field.to_internal_value = self.to_internal_value  # type: ignore[method-assign]

    @classmethod
    def supports(cls, serializer_field: serializers.Field) -> bool:
        """Return True for single related fields this class can resolve in batches."""
        if isinstance(serializer_field, SlugRelatedField):
            return "__" not in serializer_field.slug_field
        return isinstance(serializer_field, PrimaryKeyRelatedField) and (
            serializer_field.pk_field is None
        )

    def prefetch(self, texts: set[str]) -> None:
        """Load the objects named by ``texts`` and not cached yet, with one query.

        Objects found stay cached for later batches (a file names the same partners and products
        again and again), and so do texts that named nothing when ``remember_missing``, up to
        ``RELATED_CACHE_SIZE`` texts; past it the cache starts afresh.
        """
        missing = texts - self.cache.keys()
        if len(self.cache) + len(missing) > RELATED_CACHE_SIZE:
            self.cache, missing = {}, set(texts)
        by_value: dict[Any, list[str]] = {}
        for text in missing:
            try:
                value = self.model_field.to_python(text.strip())
            except (DjangoValidationError, TypeError, ValueError):
                continue
            by_value.setdefault(value, []).append(text)
        if by_value:
            for obj in filter_in(self.field.get_queryset(), {self.attr: by_value.keys()}):
                for text in by_value.get(getattr(obj, self.attr), ()):
                    self.cache[text] = AMBIGUOUS if text in self.cache else obj
        if self.remember_missing:
            for text in missing - self.cache.keys():
                self.cache[text] = MISSING

    def to_internal_value(self, data: Any) -> Any:
        """Return the object for a cell, failing as DRF's own field would."""
        obj = self.cache.get(data)
        if obj is AMBIGUOUS:
            self.field.fail("invalid")
        if obj is None or obj is MISSING:
            if self.attr == "pk":
                self.field.fail("does_not_exist", pk_value=data)
            self.field.fail("does_not_exist", slug_name=self.attr, value=str(data))
        return obj


@dataclass
class UniqueSet:
    """Fields whose values must be unique together in the target table and in the file."""

    fields: tuple[str, ...]
    message: str

    @property
    def namespace(self) -> str:
        return "unique:" + ",".join(self.fields)


def take_unique_validators(serializer: serializers.Serializer) -> list[UniqueSet]:
    """Take unique validators off ``serializer`` (they query per row); return what they checked."""
    sets: list[UniqueSet] = []
    for serializer_field in serializer.fields.values():
        uniques = [v for v in serializer_field.validators if isinstance(v, UniqueValidator)]
        if uniques:
            serializer_field.validators = [
                v for v in serializer_field.validators if not isinstance(v, UniqueValidator)
            ]
            sets.append(UniqueSet((serializer_field.source,), str(uniques[0].message)))
    kept = []
    for validator in serializer.validators:
        if isinstance(validator, UniqueTogetherValidator):
            sources = tuple(serializer.fields[name].source for name in validator.fields)
            message = str(validator.message).format(field_names=", ".join(validator.fields))
            sets.append(UniqueSet(sources, message))
        else:
            kept.append(validator)
    serializer.validators = kept
    return sets


def error_messages(detail: Any) -> list[str]:
    """Flatten a DRF error detail into messages."""
    if isinstance(detail, dict):
        return [f"{key}: {msg}" for key, value in detail.items() for msg in error_messages(value)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in error_messages(item)]
    return [str(detail)]


def overrides(job: ImportJob, hook: str) -> bool:
    """Return True when the job type overrides ``hook`` (the default does nothing)."""
    from data_exchange_tool.models.jobs import ImportJob

    return getattr(type(job), hook) is not getattr(ImportJob, hook)


def db_value(value: Any) -> Any:
    """Return the value a lookup compares: a related instance becomes its pk."""
    return value.pk if isinstance(value, models.Model) else value


class BatchValidator:
    """Validate batches of rows of one file for one job; see the module docstring.

    ``for_display`` is set by the preview, which writes nothing: new rows get no model instance,
    and the old values of changed related fields are the objects (shown), not their pks.
    """

    def __init__(self, job: ImportJob, headers: Sequence[str], *, for_display: bool = False):
        self.job = job
        self.model = job.get_target_model()
        self.queryset = job.get_queryset()
        self.serializer = job.get_serializer()
        self.lookup_fields = job.get_lookup_fields()
        fields = {n: f for n, f in self.serializer.fields.items() if not f.read_only}
        self.sources = {name: f.source for name, f in fields.items()}
        field_of_source = {f.source: name for name, f in fields.items()}
        self.columns = ColumnMap(
            headers,
            fields,
            job.get_column_mapping(),
            [field_of_source.get(f, f) for f in self.lookup_fields],
        )
        self.before_row = job.before_import_row if overrides(job, "before_import_row") else None
        self.related = [
            BatchRelated(name, f, remember_missing=self.before_row is None)
            for name, f in fields.items()
            if BatchRelated.supports(f)
        ]
        unique_sets = take_unique_validators(self.serializer)
        self.unique_sets = [u for u in unique_sets if set(u.fields) != set(self.lookup_fields)]
        self.plan = ValidationPlan(self.serializer)
        self.attnames = {f.name: f.attname for f in self.model._meta.concrete_fields}
        self.relations = {f.name for f in self.model._meta.concrete_fields if f.is_relation}
        self.for_display = for_display
        self.seen = SeenKeys()
        self.lookup_key = self.key_function(self.lookup_fields) if self.lookup_fields else None

    def column_of(self, name: str) -> str:
        """Return the file's header for a field (or the field's name)."""
        field_name = next((n for n, s in self.sources.items() if s == name), name)
        return self.columns.header_of.get(field_name, field_name)

    def validate(self, rows: Sequence[tuple[int, list[str]]]) -> list[RowOutcome]:
        """Return the outcome of each row of a batch."""
        outcomes = [self._prepare(row_number, cells) for row_number, cells in rows]
        for related in self.related:
            related.prefetch(
                {o.data[related.name] for o in outcomes if related.name in o.data} - {None, ""}
            )
        run_validation = self.plan.run_validation
        for outcome in outcomes:
            if outcome.errors:
                continue
            try:
                outcome.validated = run_validation(outcome.data)
            except serializers.ValidationError as exc:
                self._record_errors(outcome, exc.detail)
        valid = [o for o in outcomes if o.validated is not None]
        self._check_unique_sets(valid)
        self._match_existing([o for o in valid if not o.errors])
        return outcomes

    def _prepare(self, row_number: int, cells: list[str]) -> RowOutcome:
        data, nul = self.columns.row_data(cells)
        outcome = RowOutcome(row_number, cells, data)
        for name in nul:
            outcome.fail(self.columns.header_of[name], "The cell contains a NUL character.")
        if self.before_row is not None and not outcome.errors:
            self.before_row(data, row_number)
        return outcome

    def _record_errors(self, outcome: RowOutcome, detail: Any) -> None:
        if not isinstance(detail, dict):
            detail = {"non_field_errors": detail}
        for name, messages in detail.items():
            column = "" if name in ("non_field_errors", "__all__") else name
            column = self.columns.header_of.get(column, column)
            for message in error_messages(messages):
                outcome.fail(column, message)

    def key_of_row(self, outcome: RowOutcome, names: Sequence[str]) -> tuple[Any, ...] | None:
        """Return the values of ``names`` in a validated row, or None if one is missing."""
        validated = outcome.validated or {}
        key = []
        for name in names:
            value = validated.get(name)
            if value is None:
                return None
            key.append(value.pk if isinstance(value, models.Model) else value)
        return tuple(key)

    def key_of_instance(self, instance: models.Model, names: Sequence[str]) -> tuple[Any, ...]:
        """Return the values of ``names`` on a saved instance."""
        return tuple(getattr(instance, self.attnames.get(name, name)) for name in names)

    def _find(self, names: Sequence[str], keys: set[tuple[Any, ...]]) -> models.QuerySet:
        return filter_keys(self.model._default_manager.all(), names, keys)

    def _check_unique_sets(self, outcomes: list[RowOutcome]) -> None:
        for unique in self.unique_sets:
            keyed = [(o, self.key_of_row(o, unique.fields)) for o in outcomes]
            keyed = [(o, k) for o, k in keyed if k is not None]
            if not keyed:
                continue
            column = self.column_of(unique.fields[-1])
            owners: dict[tuple[Any, ...], Any] = {}
            attnames = [self.attnames.get(n, n) for n in unique.fields]
            for pk, *values in self._find(unique.fields, {k for _, k in keyed}).values_list(
                "pk", *attnames
            ):
                owners[tuple(values)] = pk
            self._unique_conflicts(keyed, owners, column, unique)
            # Only rows that will be written claim their key: an invalid row never makes a
            # later row (such as the key's owner restating it) a duplicate.
            keyed = [(o, k) for o, k in keyed if not o.errors]
            earlier = self.seen.check_and_add(
                unique.namespace, [(k, o.row_number) for o, k in keyed]
            )
            for (outcome, _), first in zip(keyed, earlier, strict=True):
                if first is not None:
                    outcome.fail(column, f"Duplicate of row {first}: {unique.message}")

    def _unique_conflicts(
        self, keyed: list, owners: dict[tuple[Any, ...], Any], column: str, unique: UniqueSet
    ) -> None:
        if not owners:
            return
        lookup_of = self._existing_pks_by_key([o for o, _ in keyed])
        for outcome, key in keyed:
            owner = owners.get(key)
            if owner is not None and owner != lookup_of.get(outcome.row_number):
                outcome.fail(column, unique.message)

    def _existing_pks_by_key(self, outcomes: list[RowOutcome]) -> dict[int, Any]:
        if not self.lookup_fields:
            return {}
        keys = {o.row_number: self.key_of_row(o, self.lookup_fields) for o in outcomes}
        wanted = {k for k in keys.values() if k is not None}
        if not wanted:
            return {}
        attnames = [self.attnames.get(n, n) for n in self.lookup_fields]
        found = {
            tuple(values): pk
            for pk, *values in self._find(self.lookup_fields, wanted).values_list("pk", *attnames)
        }
        return {row: found.get(key) for row, key in keys.items() if key is not None}

    def key_function(self, names: Sequence[str]) -> Callable[[dict], tuple[Any, ...] | None]:
        """Return a function doing what ``key_of_row`` does, from validated data, faster."""
        getter = operator.itemgetter(*names)
        related = [i for i, name in enumerate(names) if name in self.relations]

        def key(validated: dict) -> tuple[Any, ...] | None:
            try:
                found = getter(validated)
            except KeyError:
                return None
            values = [found] if len(names) == 1 else list(found)
            for i in related:
                if isinstance(values[i], models.Model):
                    values[i] = values[i].pk
            return None if None in values else tuple(values)

        return key

    def _match_existing(self, outcomes: list[RowOutcome]) -> None:
        key_of = self.lookup_key
        keyed: list[tuple[RowOutcome, tuple[Any, ...]]] = []
        for outcome in outcomes:
            key = key_of(outcome.validated) if key_of else None
            if key is None:
                self._plan(outcome, None)  # nothing to match by: always new
            else:
                keyed.append((outcome, key))
        if not keyed:
            return
        earlier = self.seen.check_and_add("lookup", [(k, o.row_number) for o, k in keyed])
        if any(first is not None for first in earlier):
            self._fail_duplicates(keyed, earlier)
        existing = self._load_existing({k for o, k in keyed if not o.errors})
        for outcome, key in keyed:
            if not outcome.errors:
                self._plan(outcome, existing.get(key))

    def _fail_duplicates(self, keyed: list, earlier: list[int | None]) -> None:
        names = ", ".join(self.column_of(n) for n in self.lookup_fields)
        column = self.column_of(self.lookup_fields[-1])
        for (outcome, _key), first in zip(keyed, earlier, strict=True):
            if first is not None:
                outcome.fail(
                    column,
                    f"Duplicate of row {first}: the same {names} appears earlier in the file.",
                )

    def _load_existing(self, keys: set[tuple[Any, ...]]) -> dict[tuple[Any, ...], models.Model]:
        if not keys:
            return {}
        queryset = filter_keys(self.queryset, self.lookup_fields, keys)
        if self.for_display and self.relations:
            queryset = queryset.select_related(*self.relations & set(self.sources.values()))
        return {self.key_of_instance(obj, self.lookup_fields): obj for obj in queryset}

    def _plan(self, outcome: RowOutcome, instance: models.Model | None) -> None:
        validated = outcome.validated or {}
        if instance is None:
            outcome.action = RowAction.NEW
            if not self.for_display:  # the preview writes nothing: no instance to build
                outcome.instance = self.model(
                    **{k: v for k, v in validated.items() if k in self.attnames}
                )
            return
        outcome.instance = instance
        for name, new in validated.items():
            attname = self.attnames.get(name)
            if attname is None:
                continue
            old = getattr(instance, attname)
            if old != db_value(new):
                display_old = getattr(instance, name) if self.for_display else old
                outcome.changes[name] = (display_old, new)
        outcome.action = RowAction.UPDATE if outcome.changes else RowAction.UNCHANGED

    def close(self) -> None:
        """Release the on-disk key store."""
        self.seen.close()
