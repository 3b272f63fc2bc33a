"""
Validation of rows in batches through the job type's DRF serializer.

A DRF serializer validates one row well, but a naive loop pays for it per row: building a
serializer costs several times its validation, and related fields and unique validators query the
database once per row. ``BatchValidator`` keeps one serializer for the whole run and composes the
parts that do the per-batch work, each in its own module:

- ``columns``: which column feeds which field (``ColumnMap``);
- ``related``: related fields resolved with one query per field and batch (``BatchRelated``);
- ``plan``: each row through the serializer, DRF's per-row bookkeeping done once
  (``ValidationPlan``);
- ``uniques``: unique validators checked with one query per unique set and batch, and against
  the file's earlier rows (``UniqueCheck``, ``SeenKeys``: on disk, not in memory);
- ``natural_keys``: the instance each row updates, one query per batch (``ExistingRows``);
- ``relations``: the many-to-many relations of the rows that update a stored one, compared with
  its through rows, one query per field and batch (``ManyRelations``);
- ``files``: file URLs compared with the stored files (``FileColumns``).

Each row then gets an action: new, update (with its changes), unchanged or invalid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import models
from rest_framework import serializers

from data_exchange_tool.imports.columns import ColumnMap
from data_exchange_tool.imports.files import FileColumns
from data_exchange_tool.imports.natural_keys import ExistingRows, Key
from data_exchange_tool.imports.outcomes import RowOutcome
from data_exchange_tool.imports.plan import ValidationPlan
from data_exchange_tool.imports.related import BatchRelated
from data_exchange_tool.imports.relations import ManyRelations
from data_exchange_tool.imports.seen import SeenKeys
from data_exchange_tool.imports.uniques import UniqueCheck, take_unique_validators
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import RowAction

if TYPE_CHECKING:
    from collections.abc import Callable


def error_messages(detail: Any) -> list[str]:
    """Flatten a DRF error detail into messages."""
    if isinstance(detail, dict):
        return [f"{key}: {msg}" for key, value in detail.items() for msg in error_messages(value)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in error_messages(item)]
    return [str(detail)]


def overrides(job: ImportJob, hook: str) -> bool:
    """Return True when the job type overrides ``hook`` (the default does nothing)."""
    return getattr(type(job), hook) is not getattr(ImportJob, hook)


def db_value(value: Any) -> Any:
    """Return the value a stored row holds for ``value``: a related instance becomes its pk."""
    return value.pk if isinstance(value, models.Model) else value


class BatchValidator:
    """Validate batches of rows of one file for one job; see the module docstring.

    ``for_display`` is set by the preview, which writes nothing: new rows get no model instance,
    and the old values of changed related fields are the objects (shown), not their pks.
    """

    def __init__(self, job: ImportJob, headers: Sequence[str], *, for_display: bool = False):
        self.job = job
        self.model = job.get_target_model()
        self.serializer = job.get_serializer()
        fields = {n: f for n, f in self.serializer.fields.items() if not f.read_only}
        self.sources = {name: f.source for name, f in fields.items()}
        natural_key = job.get_natural_key()
        field_of_source = {f.source: name for name, f in fields.items()}
        self.columns = ColumnMap(
            headers,
            fields,
            job.get_column_mapping(),
            [field_of_source.get(f, f) for f in natural_key],
            job.get_many_separator(),
        )
        self.before_row = job.before_import_row if overrides(job, "before_import_row") else None
        self.related = [
            BatchRelated(name, f, remember_missing=self.before_row is None)
            for name, f in fields.items()
            if BatchRelated.supports(f)
        ]
        self.seen = SeenKeys()
        self.key = Key(self.model, natural_key) if natural_key else None
        self.uniques = [
            UniqueCheck(unique, self.model, self.seen, self.key, self.column_of)
            for unique in take_unique_validators(self.serializer)
            if set(unique.fields) != set(natural_key)
        ]
        self.plan = ValidationPlan(self.serializer)
        self.attnames = {f.name: f.attname for f in self.model._meta.concrete_fields}
        self.for_display = for_display
        self.existing = self._existing_rows() if self.key is not None else None
        written = {name: f for name, f in fields.items() if name in self.columns.header_of}
        self.relations = ManyRelations(self.model, written, labels=for_display)
        self.files = FileColumns(self.model, written, self.columns.header_of)

    def _existing_rows(self) -> ExistingRows:
        relations = {f.name for f in self.model._meta.concrete_fields if f.is_relation}
        shown = relations & set(self.sources.values()) if self.for_display else ()
        return ExistingRows(
            self.key, self.job.get_queryset(), self.seen, self.column_of, sorted(shown)
        )

    def column_of(self, name: str) -> str:
        """Return the file's header for a field (or the field's name)."""
        field_name = next((n for n, s in self.sources.items() if s == name), name)
        return self.columns.header_of.get(field_name, field_name)

    def validate(self, rows: Sequence[tuple[int, list[str]]]) -> list[RowOutcome]:
        """Return the outcome of each row of a batch."""
        outcomes = [self._prepare(row_number, cells) for row_number, cells in rows]
        checked = [o for o in outcomes if not o.errors]  # a NUL never reaches the database
        for related in self.related:
            related.prefetch_rows(o.data for o in checked)
        run_validation = self.plan.run_validation
        for outcome in outcomes:
            if outcome.errors:
                continue
            try:
                outcome.validated = run_validation(outcome.data)
            except serializers.ValidationError as exc:
                self._record_errors(outcome, exc.detail)
        valid = [o for o in outcomes if o.validated is not None]
        for unique in self.uniques:
            unique.check(valid)
        decided = [o for o in valid if not o.errors]
        self._decide_actions(decided)
        if self.files:
            self.files.compare(decided)
        if self.relations:
            self.relations.compare(decided)
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

    def _decide_actions(self, outcomes: list[RowOutcome]) -> None:
        if self.existing is None:  # nothing to match rows by: every row is new
            matched: list[tuple[RowOutcome, models.Model | None]] = [(o, None) for o in outcomes]
        else:
            matched = self.existing.match(outcomes)
        decide: Callable[[RowOutcome, models.Model | None], None] = self._decide
        for outcome, instance in matched:
            decide(outcome, instance)

    def _decide(self, outcome: RowOutcome, instance: models.Model | None) -> None:
        """Give a valid row its action: new, or an update with its changes, or unchanged."""
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
