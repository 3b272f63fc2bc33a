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
- ``uniques``: unique validators answered with one query per validator and batch where a query
  gives DRF's answer exactly (``BatchUnique``; the rows refused are validated again), and
  checked against the file's earlier rows (``UniqueCheck``, ``SeenKeys``: on disk, not in memory);
- ``codecs``: the validated data as the row it writes (``RowShape``), and the values the
  database would refuse, each an error naming its column (``ValueChecks``);
- ``natural_keys``: the stored row each row updates, read as values with one query per batch
  (``ExistingRows``);
- ``relations``: the many-to-many relations of the rows that update a stored one, compared with
  its through rows, one query per field and batch (``ManyRelations``);
- ``files``: file URLs compared with the stored files (``FileColumns``).

Each row then gets an action: new, update (with its changes, the row's values compared with the
stored ones as the database holds them), unchanged or invalid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import connections, models, router
from django.db.models.fields.related import RelatedField
from rest_framework import serializers

from data_exchange_tool.imports.codecs import RowShape, ValueChecks, normalizer, same_value
from data_exchange_tool.imports.columns import ColumnMap
from data_exchange_tool.imports.files import FileColumns
from data_exchange_tool.imports.natural_keys import ExistingRows, Key, Lookup, Stored
from data_exchange_tool.imports.outcomes import RowOutcome
from data_exchange_tool.imports.plan import ValidationPlan
from data_exchange_tool.imports.related import BatchRelated
from data_exchange_tool.imports.relations import ManyRelations
from data_exchange_tool.imports.seen import KeyLedger, SeenKeys
from data_exchange_tool.imports.uniques import (
    Batch,
    UniqueCheck,
    UpdatedPks,
    batch_unique_validators,
)
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import RowAction

if TYPE_CHECKING:
    from collections.abc import Callable


def error_messages(detail: Any) -> list[str]:
    """Flatten a DRF error detail into messages (DRF's ``ErrorDetail``, with its ``code``, where
    the message is one of DRF's own)."""
    if isinstance(detail, dict):
        return [f"{key}: {msg}" for key, value in detail.items() for msg in error_messages(value)]
    if isinstance(detail, list):
        return [msg for item in detail for msg in error_messages(item)]
    return [detail if isinstance(detail, str) else str(detail)]


def overrides(job: ImportJob, hook: str) -> bool:
    """Return True when the job type overrides ``hook`` (the default does nothing)."""
    return getattr(type(job), hook) is not getattr(ImportJob, hook)


def _may_see_writes(field: serializers.Field, model: type[models.Model]) -> bool:
    """Return True for a writable field whose validation may read rows of ``model``."""
    if field.read_only:
        return False
    if isinstance(field, serializers.BaseSerializer):
        return True
    queryset = getattr(getattr(field, "child_relation", field), "queryset", None)
    named = getattr(queryset, "model", None)
    return named is not None and named._meta.concrete_model is model._meta.concrete_model


#: A column a row's validated data does not hold (not compared).
_ABSENT = object()


class Started(NamedTuple):
    """A batch validated up to the lookup of its stored rows (``BatchValidator.start``)."""

    outcomes: list[RowOutcome]
    #: The rows valid so far, whose action the lookup decides.
    decided: list[RowOutcome]
    #: The lookup of the stored rows (None: the job type matches no row, every row is new).
    lookup: Lookup | None


class BatchValidator:
    """Validate batches of rows of one file for one job; see the module docstring.

    ``for_display`` is set by the preview, which writes nothing: the old values of changed
    related fields are the objects (shown by their text), not their keys.
    """

    def __init__(
        self,
        job: ImportJob,
        headers: Sequence[str],
        *,
        for_display: bool = False,
        seen: KeyLedger | None = None,
    ):
        self.job = job
        self.model = job.get_target_model()
        self.serializer = job.get_serializer()
        fields = {n: f for n, f in self.serializer.fields.items() if not f.read_only}
        self.sources: dict[str, str] = {name: f.source for name, f in fields.items()}  # type: ignore[misc]
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
        #: Keys of earlier rows: on disk here, or staged for the merge in a part (``staging``).
        self.seen = seen if seen is not None else SeenKeys()
        self.key = Key(self.model, natural_key) if natural_key else None
        self.batch = Batch()
        self.uniques = batch_unique_validators(
            self.serializer, self.model, tuple(natural_key), self.batch
        )
        self.unique_checks = [
            UniqueCheck(unique, self.seen, self.column_of(unique.sources[-1]))
            for unique in self.uniques
            if unique.modelled and not unique.natural
        ]
        self.plan = ValidationPlan(self.serializer)
        #: Whether a batch may be validated before the one before it is written (the import's
        #: ``Run.read_ahead``): nothing its validation asks the database then depends on the
        #: import's own earlier rows, which the file's keys (``seen``) answer for instead. Not
        #: with a ``before_import_row`` hook, a unique set other than the natural key (the
        #: table's holders of its values change as the import writes: a row may take a value
        #: an earlier batch gives up, which ``seen`` cannot tell; and DRF's validator, asked row
        #: by row, would not see an earlier batch's claim), a nested serializer, or a related
        #: field naming rows of the target itself (a row may name one an earlier batch creates).
        self.reads_ahead = (
            self.before_row is None
            and all(unique.modelled and unique.natural for unique in self.uniques)
            and not any(_may_see_writes(f, self.model) for f in fields.values())
        )
        self.shape = RowShape(self.model, self.sources.values())
        attname_of = self.shape.attname_of
        self.checks = ValueChecks(
            self.shape.fields,
            connections[router.db_for_write(self.model)],
            {attname_of[f.source]: f for f in fields.values() if f.source in attname_of},
        )
        self.for_display = for_display
        #: Every valid row needs the row it writes when it is written (the import) or checked;
        #: otherwise (a preview with nothing to check) only a row that updates one is compared.
        self.rows_needed = not for_display or bool(self.checks.checks)
        key_columns = set(self.key.attnames) if self.key is not None else set()
        compared = [(n, f) for n, f in self.shape.columns if f.attname not in key_columns]
        #: ``(name, attname, key attname of a related field or None, normalizer or None:
        #: compared as it is)`` of each compared column.
        self.compared = [
            (
                name,
                f.attname,
                f.target_field.attname if isinstance(f, RelatedField) else None,
                None if (n := normalizer(f)) is same_value else n,
            )
            for name, f in compared
        ]
        #: Related fields whose old value the preview shows as the object: ``{name: field}``.
        self.shown: dict[str, RelatedField] = (
            {n: f for n, f in compared if isinstance(f, RelatedField)} if for_display else {}
        )
        self.existing = (
            ExistingRows(
                self.key,
                job.get_queryset(),
                self.seen,
                self.column_of,
                [f.attname for _, f in compared],
            )
            if self.key is not None
            else None
        )
        #: The connection the lookups of stored rows run on (None: the job type matches none).
        self.lookups_on = (
            connections[self.existing.queryset.db] if self.existing is not None else None
        )
        written = {name: f for name, f in fields.items() if name in self.columns.header_of}
        self.relations = ManyRelations(self.model, written, labels=for_display)
        self.files = FileColumns(self.model, written, self.columns.header_of)

    def column_of(self, name: str) -> str:
        """Return the file's header for a field (or the field's name)."""
        field_name = next((n for n, s in self.sources.items() if s == name), name)
        return self.columns.header_of.get(field_name, field_name)

    def prefetch(self, rows: Sequence[tuple[int, list[str]]]) -> None:
        """Load the related objects a batch's cells name, before the batch is validated.

        The import calls it for the next batch while no write is in flight, so that batch's
        validation needs no query before its rows have been through the serializer. A hint:
        ``validate`` still loads whatever the rows' data names and this did not load.
        """
        index_of = self.columns.index_of
        for related in self.related:
            index = index_of.get(related.name)
            if index is None or related.many:  # a list's items are split from the cell later
                continue
            texts = {cells[index] for _, cells in rows if index < len(cells)}
            related.prefetch({t for t in texts if t and "\x00" not in t})

    def validate(self, rows: Sequence[tuple[int, list[str]]]) -> list[RowOutcome]:
        """Return the outcome of each row of a batch."""
        return self.finish(self.start(rows))

    def start(self, rows: Sequence[tuple[int, list[str]]]) -> Started:
        """Validate a batch up to the lookup of the stored rows its keys name, not run yet:
        ``finish`` runs it (or takes its rows, fetched meanwhile on another thread) and gives
        each row its action. Batches are started in the file's order (the keys of earlier rows
        are checked here)."""
        outcomes = self._prepare_batch(rows)
        if self.related:
            # a NUL never reaches the database
            datas = [o.data for o in outcomes if not o.errors]
            for related in self.related:
                related.prefetch_rows(datas)
        self._run_validation(outcomes)
        valid = [o for o in outcomes if o.validated is not None]
        for unique in self.unique_checks:
            unique.check(valid)
        decided = [o for o in valid if not o.errors]
        lookup = self.existing.look_up(decided) if self.existing is not None else None
        return Started(outcomes, decided, lookup)

    def finish(self, started: Started) -> list[RowOutcome]:
        """Give each valid row of a started batch its action; return the batch's outcomes."""
        if started.lookup is None:  # nothing to match rows by: every row is new
            matched: list[tuple[RowOutcome, Stored | None]] = [(o, None) for o in started.decided]
        else:
            matched = started.lookup.matched()
        if self.files or self.rows_needed:  # rows built: compared as they are written
            decide: Callable[[RowOutcome, Stored | None], None] = self._decide
            for outcome, stored in matched:
                decide(outcome, stored)
        else:  # a preview's rows: compared from their validated data, column by column
            self._compare_batch(matched)
        decided = started.decided
        if self.files:
            self.files.compare(decided)
        if self.relations:
            self.relations.compare(decided)
        if self.shown:
            self._show_related([o for o in decided if o.changes])
        return started.outcomes

    def _run_validation(self, outcomes: list[RowOutcome]) -> None:
        """Validate each row through the serializer (the rows a unique validator refuses, twice:
        see ``uniques``); give it the row it writes, its values checked against what the
        database would refuse."""
        checked = [o for o in outcomes if not o.errors]
        for unique in self.uniques:
            unique.start(defer=self.key is not None)
        self._validate_rows(checked)
        refused: set[int] = set()
        updated_pks = self._updated_pks_of(checked)
        for unique in self.uniques:
            refused |= unique.settle(updated_pks)
        if refused:
            self.batch.answering = True
            again = [o for o in checked if o.row_number in refused]
            for outcome in again:
                outcome.errors.clear()
                outcome.action = RowAction.NEW
                outcome.validated = None
            self._validate_rows(again)
            self.batch.answering = False
        row_of = self.shape.row if self.rows_needed else None
        if row_of is None:
            return
        refusals = self.checks.refusals
        for outcome in checked:
            if outcome.validated is not None:
                outcome.row = row_of(outcome.validated)
                for attname, message in refusals(outcome.row):
                    outcome.fail(self.column_of(self.shape.name_of[attname]), message)

    def _validate_rows(self, outcomes: list[RowOutcome]) -> None:
        batch = self.batch

        def before_row(i: int) -> None:  # the unique checks note the row they see
            batch.row = outcomes[i].row_number

        results = self.plan.validate_batch([o.data for o in outcomes], before_row)
        for outcome, (validated, detail) in zip(outcomes, results, strict=True):
            if detail is None:
                outcome.validated = validated
            else:
                self._record_errors(outcome, detail)

    def _updated_pks_of(self, outcomes: list[RowOutcome]) -> UpdatedPks:
        """Return the function that gives the stored row each row updates (natural key)."""
        by_row = {o.row_number: o for o in outcomes}

        def updated_pks(rows: set[int]) -> dict[int, Any]:
            if self.key is None:
                return {}
            keys = {row: self.key.of(by_row[row].validated) for row in rows}
            wanted = {k for k in keys.values() if k is not None}
            if not wanted:
                return {}
            found = self.key.owners(self.job.get_queryset(), wanted)
            return {row: found.get(key) for row, key in keys.items() if key is not None}

        return updated_pks

    def _prepare_batch(self, rows: Sequence[tuple[int, list[str]]]) -> list[RowOutcome]:
        """Return each row's ``_prepare`` (its data read for the whole batch at once)."""
        if self.before_row is not None:
            return [self._prepare(row_number, cells) for row_number, cells in rows]
        datas = self.columns.rows_data([cells for _, cells in rows])
        outcomes = [
            RowOutcome(row_number, cells, data)
            for (row_number, cells), (data, _) in zip(rows, datas, strict=True)
        ]
        header_of = self.columns.header_of
        for outcome, (_, nul) in zip(outcomes, datas, strict=True):
            for name in nul:
                outcome.fail(header_of[name], "The cell contains a NUL character.")
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

    def _decide(self, outcome: RowOutcome, stored: Stored | None) -> None:
        """Give a valid row its action: new, or an update with its changes, or unchanged.

        A value changes when, as the database would hold it (``codecs.normalizer``), it differs
        from the stored one; a column the row does not carry is not compared.
        """
        if stored is None:
            outcome.action = RowAction.NEW
            return
        outcome.pk = stored[0]
        self._compare_row(outcome, stored)
        outcome.action = RowAction.UPDATE if outcome.changes else RowAction.UNCHANGED

    def _compare_batch(self, matched: list[tuple[RowOutcome, Stored | None]]) -> None:
        """``_decide`` for a batch of rows whose written row is not built (a preview), read from
        their validated data column by column: each column's values against the stored ones in
        one pass; only a value that differs is normalized and compared again (a value equal to
        the stored one as it is equals it normalized too: rounding a stored decimal, or making an
        aware datetime aware, gives it back)."""
        pairs: list[tuple[RowOutcome, Stored]] = []
        for outcome, stored in matched:
            if stored is None:
                outcome.action = RowAction.NEW
            else:
                outcome.pk = stored[0]
                pairs.append((outcome, stored))
        validateds = [outcome.validated or {} for outcome, _ in pairs]
        for column, (name, _, target, normalize) in enumerate(self.compared, start=1):
            olds = [stored[column] for _, stored in pairs]
            news = [validated.get(name, _ABSENT) for validated in validateds]
            values = news
            if target is not None:
                values = [getattr(n, target) if isinstance(n, models.Model) else n for n in news]
            differing = [
                i
                for i, (value, old) in enumerate(zip(values, olds, strict=True))
                if value is not _ABSENT and value != old
            ]
            for i in differing:
                old = olds[i]
                if normalize is None or normalize(values[i]) != old:
                    pairs[i][0].changes[name] = (old, news[i])
        for outcome, _ in pairs:
            outcome.action = RowAction.UPDATE if outcome.changes else RowAction.UNCHANGED

    def _compare_row(self, outcome: RowOutcome, stored: Stored) -> None:
        """Record the changes of a row from the row it writes (built here if need be)."""
        validated = outcome.validated or {}
        row = outcome.row
        if row is None:
            row = outcome.row = self.shape.row(validated)
        changes = outcome.changes
        for (name, attname, _, normalize), old in zip(self.compared, stored[1:], strict=True):
            if attname in row:
                value = row[attname]
                if value != old and (normalize is None or normalize(value) != old):
                    changes[name] = (old, validated[name])

    def _show_related(self, outcomes: list[RowOutcome]) -> None:
        """Replace the old keys of changed related fields by their objects (one query per field
        and batch, only for the rows that change it), for the preview to show."""
        for name, field in self.shown.items():
            keys = {o.changes[name][0] for o in outcomes if name in o.changes} - {None}
            if not keys:
                continue
            target = field.target_field
            found = target.model._base_manager.in_bulk(keys, field_name=target.attname)
            for outcome in outcomes:
                if name in outcome.changes:
                    old, new = outcome.changes[name]
                    outcome.changes[name] = (found.get(old, old), new)

    def close(self) -> None:
        """Release the on-disk key store and the related objects kept between batches."""
        for related in self.related:
            related.close()
        self.seen.close()
