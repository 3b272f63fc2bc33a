"""
Staging of a partitioned run: the keys its parts claimed, in an UNLOGGED table per job, and the
merge that ends a partitioned preview.

A part cannot know the keys other parts hold. Where the single run asks ``SeenKeys`` whether an
earlier row of the file held a key, a part hands its keys to ``StagedKeys``, which answers "not
seen" and copies each key (its namespace, text, part, row, the row's action and cells) into the
job's staging table with ``COPY``, one per batch. The merge then finds every key held more than
once with one grouped query per namespace, in the order the single run checks them (unique sets,
then the natural key), so a row that is a duplicate in one namespace claims no key in the next,
as in the single run. Its first holder keeps it; every later one gets the single run's error,
"Duplicate of row N: ...", with the row numbers of the whole file. A million keys never meet in
one process: the database groups them.

The staging table is UNLOGGED (no write-ahead log: it is rebuilt by running again, never
recovered) and dropped when the run ends, whatever the end (``drop``).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection

from data_exchange_tool.conf import app_settings
from data_exchange_tool.imports.parts import row_offsets
from data_exchange_tool.imports.seen import key_text
from data_exchange_tool.imports.validation import BatchValidator
from data_exchange_tool.models import (
    ImportJobPart,
    ImportJobPreviewRow,
    ImportJobRowError,
    Phase,
    RunResult,
)
from data_exchange_tool.states import RowAction

if TYPE_CHECKING:
    from data_exchange_tool.imports.outcomes import RowOutcome
    from data_exchange_tool.models import ImportJob


def keys_table(job_pk: Any) -> str:
    """Return the name of the job's staging table of keys."""
    return f"dxt_stage_{int(job_pk)}_keys"


def create(job_pk: Any) -> None:
    """Create the job's staging table of keys (empty)."""
    table = connection.ops.quote_name(keys_table(job_pk))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE UNLOGGED TABLE {table} (ns text NOT NULL, key text NOT NULL,"
            " part integer NOT NULL, row integer NOT NULL, action text NOT NULL, cells text)"
        )


def drop(job_pk: Any) -> None:
    """Drop the job's staging tables, if any (PostgreSQL; elsewhere there are none)."""
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(keys_table(job_pk))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def delete_part(job_pk: Any, index: int) -> None:
    """Forget what a part staged (it runs again)."""
    table = connection.ops.quote_name(keys_table(job_pk))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE part = %s", [index])  # noqa: S608


class StagedKeys:
    """``SeenKeys``' interface for a part: every key is "not seen" here, and staged for the merge.

    ``check_and_add`` keeps a batch's keys; ``stage`` copies them with the batch's actions and
    cells once the batch is validated.
    """

    def __init__(self, job_pk: Any, part: int) -> None:
        self.table = keys_table(job_pk)
        self.part = part
        self.pending: list[tuple[str, str, int]] = []

    def check_and_add(
        self, namespace: str, items: Sequence[tuple[Hashable, int]]
    ) -> list[int | None]:
        self.pending.extend((namespace, key_text(key), row) for key, row in items)
        return [None] * len(items)

    def stage(self, outcomes: Sequence[RowOutcome]) -> None:
        """Copy the batch's keys, with their rows' actions and cells, into the staging table."""
        if not self.pending:
            return
        by_row = {o.row_number: o for o in outcomes}
        table = connection.ops.quote_name(self.table)
        sql = f"COPY {table} (ns, key, part, row, action, cells) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for namespace, key, row in self.pending:
                outcome = by_row[row]
                copy.write_row(
                    (namespace, key, self.part, row, outcome.action, json.dumps(outcome.cells))
                )
        self.pending = []

    def close(self) -> None:
        self.pending = []


def namespaces(validator: BatchValidator) -> list[tuple[str, str, str]]:
    """Return ``(namespace, column, message with {first})`` in the order the single run checks."""
    found = [
        (u.unique.namespace, u.column, f"Duplicate of row {{first}}: {u.unique.message}")
        for u in validator.uniques
    ]
    existing = validator.existing
    if existing is not None:
        found.append(
            (
                "lookup",
                existing.column,
                f"Duplicate of row {{first}}: the same {existing.names} appears earlier in the "
                "file.",
            )
        )
    return found


class PreviewMerge:
    """End a partitioned preview: number the parts' rows, find the keys held twice, add up."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.parts = list(
            ImportJobPart.objects.filter(job=job, phase=Phase.PREVIEW).order_by("index")
        )
        self.offsets = row_offsets([p.records for p in self.parts])

    def execute(self) -> RunResult:
        """Merge inside the caller's transaction; return the job's counts."""
        self.renumber()
        result = RunResult()
        for part in self.parts:
            for name, count in part.counts().items():
                setattr(result, _FIELD[name], getattr(result, _FIELD[name]) + count)
        validator = BatchValidator(self.job, self.job.file_headers, for_display=True)
        try:
            duplicates = self.duplicates(namespaces(validator))
            self.record(duplicates, validator, result)
        finally:
            validator.close()
        return result

    def _values(self) -> tuple[str, list[int]]:
        rows = ", ".join(["(%s::integer, %s::integer)"] * len(self.parts))
        params = [
            v for part, off in zip(self.parts, self.offsets, strict=True) for v in (part.index, off)
        ]
        return f"(VALUES {rows})", params

    def renumber(self) -> None:
        """Add to each part's row numbers the records of the parts before it."""
        values, params = self._values()
        for model in (ImportJobRowError, ImportJobPreviewRow):
            table = connection.ops.quote_name(model._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} t SET row_number = t.row_number + v.off, part = NULL"  # noqa: S608
                    f" FROM {values} AS v(part, off) WHERE t.job_id = %s AND t.part = v.part",
                    [*params, self.job.pk],
                )

    def duplicates(self, spaces: list[tuple[str, str, str]]) -> dict[int, Duplicate]:
        """Return ``{row: Duplicate}`` of the rows whose key an earlier row held."""
        values, params = self._values()
        table = connection.ops.quote_name(keys_table(self.job.pk))
        found: dict[int, Duplicate] = {}
        for namespace, column, message in spaces:
            sql = (
                f"SELECT s.key, s.row + v.off, s.action, s.cells FROM {table} s"  # noqa: S608
                f" JOIN {values} AS v(part, off) ON s.part = v.part"
                f" WHERE s.ns = %s AND s.key IN (SELECT key FROM {table} WHERE ns = %s"
                " GROUP BY key HAVING count(*) > 1) ORDER BY s.key, 2"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*params, namespace, namespace])
                rows = cursor.fetchall()
            first_of: dict[str, int] = {}
            for key, row, action, cells in rows:
                if row in found and found[row].claims_nothing:
                    continue  # a duplicate in an earlier namespace claims no key here
                first = first_of.setdefault(key, row)
                if first == row:
                    continue
                duplicate = found.setdefault(row, Duplicate(row, action, json.loads(cells)))
                duplicate.errors.append([column, message.format(first=first)])
            for duplicate in found.values():
                duplicate.claims_nothing = True
        return found

    def record(
        self, duplicates: dict[int, Duplicate], validator: BatchValidator, result: RunResult
    ) -> None:
        """Write the duplicates' errors and preview rows; move them to the invalid count."""
        job = self.job
        columns = validator.columns
        errors, rows = [], []
        kept = {
            r.row_number: r
            for r in ImportJobPreviewRow.objects.filter(job=job, row_number__in=list(duplicates))
        }
        for row, duplicate in sorted(duplicates.items()):
            values = {
                h: t.replace("\x00", "\ufffd") for h, t in columns.values(duplicate.cells).items()
            }
            errors.extend(
                ImportJobRowError(
                    job_id=job.pk,
                    phase=Phase.PREVIEW,
                    row_number=row,
                    column=column[:255],
                    message=message,
                    values=values,
                )
                for column, message in duplicate.errors
            )
            if duplicate.action != RowAction.INVALID:
                name = _COUNT_OF[duplicate.action]
                setattr(result, name, getattr(result, name) - 1)
                result.invalid += 1
            preview_row = kept.get(row)
            if preview_row is None:
                rows.append(
                    ImportJobPreviewRow(
                        job_id=job.pk,
                        row_number=row,
                        action=RowAction.INVALID,
                        values=values,
                        errors=duplicate.errors,
                    )
                )
            else:
                preview_row.action = RowAction.INVALID
                preview_row.changes = {}
                preview_row.errors = [*preview_row.errors, *duplicate.errors]
                preview_row.save(update_fields=["action", "changes", "errors"])
        ImportJobRowError.objects.bulk_create(errors, batch_size=1000)
        ImportJobPreviewRow.objects.bulk_create(rows, batch_size=1000)
        self.trim()

    def trim(self) -> None:
        """Keep the first rows of each action, as many as the single run keeps."""
        keep = int(app_settings.PREVIEW_KEEP_ROWS)
        sample = self.job.get_preview_sample_size()
        table = connection.ops.quote_name(ImportJobPreviewRow._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM (SELECT id, action,"  # noqa: S608
                " row_number() OVER (PARTITION BY action ORDER BY row_number) AS n"
                f" FROM {table} WHERE job_id = %s) ranked WHERE n > CASE WHEN action IN"
                " (%s, %s) THEN %s ELSE %s END)",
                [self.job.pk, RowAction.INVALID, RowAction.UPDATE, keep, sample],
            )


class Duplicate:
    """A row whose key an earlier row held: its action as its part saw it, cells, errors."""

    def __init__(self, row: int, action: str, cells: list[str]) -> None:
        self.row = row
        self.action = action
        self.cells = cells
        self.errors: list[list[str]] = []
        self.claims_nothing = False


_FIELD = {
    "total": "total",
    "new": "new",
    "updated": "updated",
    "unchanged": "unchanged",
    "invalid": "invalid",
}
_COUNT_OF = {
    RowAction.NEW: "new",
    RowAction.UPDATE: "updated",
    RowAction.UNCHANGED: "unchanged",
}
