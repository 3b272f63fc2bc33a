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
recovered) and dropped when the run ends, whatever the end (``drop_all``); what a worker killed
before that drop leaves, the sweep finds by name (``staged_jobs``, ``liveness.sweep_staging``).
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connection, models, transaction

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import ImportAbortedError
from data_exchange_tool.imports.codecs import MaskCodec
from data_exchange_tool.imports.copying import MASK, CopyWriter
from data_exchange_tool.imports.parts import row_offsets
from data_exchange_tool.imports.seen import key_text
from data_exchange_tool.imports.validation import BatchValidator
from data_exchange_tool.models import (
    ImportJob,
    ImportJobPart,
    ImportJobPreviewRow,
    ImportJobRowError,
    Phase,
    RunResult,
)
from data_exchange_tool.models.parts import CONVERTED_OPTION
from data_exchange_tool.models.results import WRITTEN_PKS_KEPT
from data_exchange_tool.states import RowAction
from data_exchange_tool.storage import get_storage

if TYPE_CHECKING:
    from data_exchange_tool.imports.codecs import Row
    from data_exchange_tool.imports.columns import ColumnMap
    from data_exchange_tool.imports.copying import Change
    from data_exchange_tool.imports.outcomes import RowOutcome

logger = logging.getLogger(__name__)


#: Every staging table's name starts so, followed by its job's pk and "_" (``keys_table``,
#: ``part_tables``).
STAGE_PREFIX = "dxt_stage_"


def keys_table(job_pk: Any) -> str:
    """Return the name of the job's staging table of keys."""
    return f"{STAGE_PREFIX}{int(job_pk)}_keys"


def create(job_pk: Any) -> None:
    """Create the job's staging table of keys (empty)."""
    table = connection.ops.quote_name(keys_table(job_pk))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE UNLOGGED TABLE {table} (ns text NOT NULL, key text NOT NULL,"
            " part integer NOT NULL, row integer NOT NULL, action text NOT NULL, cells text)"
        )


def delete_part(job_pk: Any, index: int) -> None:
    """Forget what a part staged (it runs again); its tables of rows it makes again itself."""
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(keys_table(job_pk))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE part = %s", [index])  # noqa: S608


def read_cells(text: str) -> list[str]:
    """Return the cells a part staged with a key: ``repr`` of the row's list of strings (a
    fifth of ``json.dumps``' time, for every row; read back only for the rows found repeated)."""
    cells = ast.literal_eval(text)
    if not isinstance(cells, list) or not all(isinstance(cell, str) for cell in cells):
        raise ValueError(f"not staged cells: {text[:80]!r}")
    return cells


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
        """Copy the batch's keys, with their rows' actions and cells, into the staging table.

        Keys of rows of a later batch (validated before this one is handled: ``Run.read_ahead``)
        stay pending until theirs is staged.
        """
        by_row = {o.row_number: o for o in outcomes}
        staged = [item for item in self.pending if item[2] in by_row]
        if not staged:
            return
        self.pending = [item for item in self.pending if item[2] not in by_row]
        table = connection.ops.quote_name(self.table)
        sql = f"COPY {table} (ns, key, part, row, action, cells) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for namespace, key, row in staged:
                outcome = by_row[row]
                copy.write_row(
                    (namespace, key, self.part, row, outcome.action, repr(outcome.cells))
                )

    def close(self) -> None:
        self.pending = []


def namespaces(validator: BatchValidator, phase: str = Phase.PREVIEW) -> list[tuple[str, str, str]]:
    """Return ``(namespace, column, message with {first})`` in the order the single run checks.

    The single import has written the earlier batches when it checks a row, so a unique value an
    earlier row took is "already taken" in the table (the first holder is written), not a
    duplicate in the file; the partitioned import says the same (two rows of one batch of the
    single import are the exception: it says "Duplicate of row N" for them).
    """
    template = "{message}" if phase == Phase.IMPORT else "Duplicate of row {{first}}: {message}"
    found = [
        (u.namespace, u.column, template.format(message=u.unique.message))
        for u in validator.unique_checks
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
    """End a partitioned preview: number the parts' rows, find the keys held twice, add up.

    The partitioned import uses the same steps (``phase``) before it applies its staged rows.
    """

    def __init__(self, job: ImportJob, phase: str = Phase.PREVIEW) -> None:
        self.job = job
        self.phase = phase
        self.parts = list(ImportJobPart.objects.filter(job=job, phase=phase).order_by("index"))
        self.offsets = row_offsets([p.records for p in self.parts])

    def execute(self) -> RunResult:
        """Merge inside the caller's transaction; return the job's counts."""
        self.renumber()
        result = self.add_up()
        validator = BatchValidator(self.job, self.job.file_headers, for_display=True)
        try:
            duplicates = self.duplicates(namespaces(validator))
            self.record_errors(duplicates, validator.columns, result)
            self.record_rows(duplicates, validator.columns)
        finally:
            validator.close()
        self.trim()
        return result

    def add_up(self) -> RunResult:
        """Return the sum of the parts' counts."""
        result = RunResult()
        for part in self.parts:
            for name, count in part.counts().items():
                setattr(result, _FIELD[name], getattr(result, _FIELD[name]) + count)
        return result

    def _values(self) -> tuple[str, list[int]]:
        rows = ", ".join(["(%s::integer, %s::integer)"] * len(self.parts))
        params = [
            value
            for part, offset in zip(self.parts, self.offsets, strict=True)
            for value in (part.index, offset)
        ]
        return f"(VALUES {rows})", params

    def renumber(self) -> None:
        """Add to each part's row numbers the records of the parts before it."""
        values, params = self._values()
        tables = (ImportJobRowError, ImportJobPreviewRow)
        for model in tables if self.phase == Phase.PREVIEW else tables[:1]:
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
                f"SELECT s.key, s.row + v.off, s.action, s.cells, s.part FROM {table} s"  # noqa: S608
                f" JOIN {values} AS v(part, off) ON s.part = v.part"
                f" WHERE s.ns = %s AND s.key IN (SELECT key FROM {table} WHERE ns = %s"
                " GROUP BY key HAVING count(*) > 1) ORDER BY s.key, 2"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*params, namespace, namespace])
                rows = cursor.fetchall()
            first_of: dict[str, int] = {}
            for key, row, action, cells, part in rows:
                if row in found and found[row].claims_nothing:
                    continue  # a duplicate in an earlier namespace claims no key here
                first = first_of.setdefault(key, row)
                if first == row:
                    continue
                duplicate = found.setdefault(row, Duplicate(row, action, read_cells(cells), part))
                duplicate.errors.append([column, message.format(first=first)])
            for duplicate in found.values():
                duplicate.claims_nothing = True
        return found

    def record_errors(
        self, duplicates: dict[int, Duplicate], columns: ColumnMap, result: RunResult
    ) -> list[ImportJobRowError]:
        """Write the duplicates' row errors (and return them); move them to the invalid count."""
        errors: list[ImportJobRowError] = []
        for row, duplicate in sorted(duplicates.items()):
            duplicate.values = {
                h: t.replace("\x00", "\ufffd") for h, t in columns.values(duplicate.cells).items()
            }
            errors.extend(
                ImportJobRowError(
                    job_id=self.job.pk,
                    phase=self.phase,
                    row_number=row,
                    column=column[:255],
                    message=message,
                    values=duplicate.values,
                )
                for column, message in duplicate.errors
            )
            if duplicate.action != RowAction.INVALID:
                name = _COUNT_OF[RowAction(duplicate.action)]
                setattr(result, name, getattr(result, name) - 1)
                result.invalid += 1
        ImportJobRowError.objects.bulk_create(errors, batch_size=1000)
        return errors

    def record_rows(self, duplicates: dict[int, Duplicate], columns: ColumnMap) -> None:
        """Show the duplicates as invalid rows in the preview's table."""
        job = self.job
        kept = {
            r.row_number: r
            for r in ImportJobPreviewRow.objects.filter(job=job, row_number__in=list(duplicates))
        }
        rows = []
        for row, duplicate in sorted(duplicates.items()):
            preview_row = kept.get(row)
            if preview_row is None:
                rows.append(
                    ImportJobPreviewRow(
                        job_id=job.pk,
                        row_number=row,
                        action=RowAction.INVALID,
                        values=duplicate.values,
                        errors=duplicate.errors,
                    )
                )
            else:
                preview_row.action = RowAction.INVALID
                preview_row.changes = {}
                preview_row.errors = [*preview_row.errors, *duplicate.errors]
                preview_row.save(update_fields=["action", "changes", "errors"])
        ImportJobPreviewRow.objects.bulk_create(rows, batch_size=1000)

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

    def __init__(self, row: int, action: str, cells: list[str], part: int) -> None:
        self.row = row
        self.action = action
        self.cells = cells
        self.part = part
        self.values: dict[str, str] = {}
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


# --- the partitioned import ----------------------------------------------------------------

#: The column of a staged row that holds its row number in its part.
ROW = "dxt_row"


def part_tables(job_pk: Any, index: int) -> tuple[str, str]:
    """Return the names of a part's staging tables: its new rows, its changed rows."""
    job = f"{STAGE_PREFIX}{int(job_pk)}"
    return f"{job}_new_{index}", f"{job}_upd_{index}"


def drop_all(job_pk: Any) -> None:
    """Drop every staging table of the job and delete the CSV its workbook was converted to
    (named by its parts, or noted on the job before it was stored: ``note_converted``)."""
    if connection.vendor != "postgresql":
        return
    sources = set(
        ImportJobPart.objects.filter(job_id=job_pk)
        .exclude(source="")
        .values_list("source", flat=True)
    )
    sources.add(converted_name(job_pk))
    for source in sources:
        delete_source(source)
    drop_tables(job_pk)


def converted_name(job_pk: Any) -> str:
    """Return the name of the CSV file the job's workbook was last converted to ("": none)."""
    options = ImportJob._base_manager.filter(pk=job_pk).values_list("options", flat=True).first()
    return str((options or {}).get(CONVERTED_OPTION) or "")


def note_converted(job: ImportJob, name: str) -> None:
    """Note on the job, committed before the file is stored, the name its workbook is about
    to be converted to; delete the file an earlier conversion stored (a lead killed after
    storing it, before its parts named it: nothing else names that file).

    ``drop_all`` and the job's deletion delete the noted file too, so no run of a job leaves a
    converted workbook behind, whenever its worker dies.
    """
    with transaction.atomic():
        row = ImportJob._base_manager.select_for_update().filter(pk=job.pk)
        options = dict(row.values_list("options", flat=True).first() or {})
        earlier = str(options.get(CONVERTED_OPTION) or "")
        options[CONVERTED_OPTION] = name
        row.update(options=options)
    job.options = {**(job.options or {}), CONVERTED_OPTION: name}
    if earlier and earlier != name:
        delete_source(earlier)


def delete_source(name: str) -> None:
    """Delete a converted workbook from the job storage (a failure is logged, not raised)."""
    if not name:
        return
    try:
        get_storage().delete(name)
    except Exception:  # storages raise OSError, botocore errors, ...
        logger.warning("data_exchange_tool: could not delete %r", name, exc_info=True)


def drop_tables(job_pk: Any) -> None:
    """Drop every staging table of the job (its keys and its parts' rows)."""
    if connection.vendor != "postgresql":
        return
    names = [connection.ops.quote_name(name) for name in _tables(f"{STAGE_PREFIX}{int(job_pk)}_")]
    if names:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(names)}")


_STAGED = re.compile(rf"{STAGE_PREFIX}(\d+)_")


def _tables(prefix: str) -> list[str]:
    """Return the tables of the current schema whose name starts with ``prefix``.

    ``_`` is escaped: unescaped, "dxt_stage_1_%" matches job 12's tables too.
    """
    pattern = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename LIKE %s ORDER BY tablename",
            [pattern],
        )
        return [name for (name,) in cursor.fetchall()]


def staged_jobs() -> set[int]:
    """Return the pks of the jobs that have staging tables (one query; none but on PostgreSQL)."""
    if connection.vendor != "postgresql":
        return set()
    matches = (_STAGED.match(name) for name in _tables(STAGE_PREFIX))
    return {int(match.group(1)) for match in matches if match}


class StagingCopyWriter(CopyWriter):
    """A ``CopyWriter`` that writes a part's rows into its staging tables, not the target.

    New rows get their primary keys from the target's sequence, as the single import draws them,
    and are copied, encoded exactly as the single import would send them (``codecs``), into a
    table made ``LIKE`` the target; changed rows go into a table of the key, every written
    column and the per-row mask of ``CopyWriter.update``. Each staged row carries its row number
    in the part (``dxt_row``), so the apply can leave out a row the merge found repeated.
    ``rows_of_new`` / ``rows_of_updates`` give the row numbers of the next batch's rows.
    """

    def __init__(self, model: type[models.Model], written: Sequence[str], job_pk: Any, index: int):
        super().__init__(model, written, connection.alias)
        self.target = self.table
        new, changed = part_tables(job_pk, index)
        self.table, self.update_table = self.quote(new), self.quote(changed)
        auto = {f.attname for f in self.auto_now}
        self.updatable = [n for n in self.written if n != self.pk.attname and n not in auto]
        self.rows_of_new: list[int] = []
        self.rows_of_updates: list[int] = []
        self._rows: list[int] = []
        self.create_tables()

    def create_tables(self) -> None:
        """Create the part's staging tables, empty (a part that runs again starts over)."""
        columns = [self.pk.column, *(self.fields[n].column for n in self.updatable)]
        select = ", ".join(self.quote(c) for c in columns)
        self.execute(f"DROP TABLE IF EXISTS {self.table}, {self.update_table}")
        self.execute(
            f"CREATE UNLOGGED TABLE {self.table} (LIKE {self.target} INCLUDING DEFAULTS,"
            f" {ROW} integer)"
        )
        self.execute(
            f"CREATE UNLOGGED TABLE {self.update_table} AS SELECT {select},"  # noqa: S608
            f" NULL::text AS {MASK}, NULL::integer AS {ROW} FROM {self.target} WITH NO DATA"
        )

    def insert(self, rows: Sequence[Row]) -> list[Any]:
        self._rows = self.rows_of_new
        return super().insert(rows)

    def update(self, changes: Sequence[Change]) -> int:
        changes = [(pk, values) for pk, values in changes if values]
        if not changes:
            return 0
        names = self.updatable
        codecs: list[Any] = [self.codecs[self.pk.attname], *(self.codecs[n] for n in names)]
        codecs.append(MaskCodec(MASK))
        rows = [self._update_values(pk, values, names, True) for pk, values in changes]
        self._rows = self.rows_of_updates
        data = self._update_lines(codecs, rows)
        self.copy(self.update_table, [c.column for c in codecs], data, list(range(len(rows))))
        return len(rows)

    def copy(self, table: str, columns: Sequence[str], data: str, indexes: Sequence[int]) -> None:
        lines = data.split("\n")[:-1]
        numbers = map(str, map(self._rows.__getitem__, indexes))
        numbered = "".join(map("{}\t{}\n".format, lines, numbers)) if lines else ""
        super().copy(table, [*columns, ROW], numbered, indexes)


class ImportApply:
    """End a partitioned import in the caller's transaction: the staged rows into the target.

    Renumbers the parts' row errors, finds the keys held twice (``PreviewMerge.duplicates``),
    refuses invalid rows unless the import is forced (a forced import leaves the repeated rows
    out), then, part by part in the file's order, one ``INSERT ... SELECT`` of the new rows and
    one ``UPDATE ... FROM`` of the changed ones (the target's foreign keys checked per statement,
    its unique constraints by the database; an update whose row is gone fails the import).

    A part may be applied earlier, while later parts still run (``apply_early``, in the same
    transaction): as it was staged, nothing left out, after one savepoint. When every part is
    done, ``execute`` keeps those parts if none of their rows is repeated, and else rolls back to
    the savepoint and applies every part as above; a part the database refuses early is rolled
    back the same way and applied again, in order, by ``execute``, which says why it fails.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.model = job.get_target_model()
        self.errors: list[ImportJobRowError] = []
        #: The parts applied early, nothing left out.
        self.applied: set[int] = set()
        #: False once a part could not be applied early: the rest waits for ``execute``.
        self.early = True
        self._savepoint: str | None = None
        self._writer: CopyWriter | None = None
        self._merge: PreviewMerge | None = None

    @property
    def merge(self) -> PreviewMerge:
        """The parts and their row offsets, read once every part is done."""
        if self._merge is None:
            self._merge = PreviewMerge(self.job, phase=Phase.IMPORT)
        return self._merge

    @property
    def parts(self) -> list[ImportJobPart]:
        return self.merge.parts

    def writer(self) -> CopyWriter:
        """The writer of the target (its deferrable foreign keys made ``IMMEDIATE``)."""
        if self._writer is None:
            validator = BatchValidator(self.job, self.job.file_headers)
            try:
                written = validator.shape.attnames
            finally:
                validator.close()
            self._writer = CopyWriter(self.model, written, connection.alias)
        return self._writer

    def renumber(self) -> None:
        """Give the parts' row errors the file's row numbers (once every part is done; running
        it again changes nothing)."""
        self.merge.renumber()

    def apply_early(self, part: ImportJobPart) -> bool:
        """Apply a done part while others run; return False when it was not (and no part will
        be applied early any more).

        Not when the import will be refused (a part found invalid rows and it is not forced).
        """
        if not self.early:
            return False
        if part.invalid_rows and not self.job.force_import:
            self.early = False
            return False
        writer = self.writer()  # before the savepoint: its SET CONSTRAINTS must stay
        if self._savepoint is None:
            self._savepoint = transaction.savepoint()
        try:
            self.apply(writer, part.index, [])
        except (DatabaseError, ImportAbortedError):
            logger.info(
                "data_exchange_tool: part %s of job %s is applied with the others",
                part.index,
                self.job.pk,
                exc_info=True,
            )
            self.undo_early()
            self.early = False
            return False
        self.applied.add(part.index)
        logger.info(
            "data_exchange_tool: part %s of job %s applied while parts run", part.index, self.job.pk
        )
        return True

    def undo_early(self) -> None:
        """Roll back what the parts applied early did."""
        if self._savepoint is not None:
            transaction.savepoint_rollback(self._savepoint)
        if self.applied:
            logger.info(
                "data_exchange_tool: the parts of job %s applied early are rolled back (%s)",
                self.job.pk,
                len(self.applied),
            )
        self.applied.clear()

    def execute(self) -> RunResult:
        """Apply the staged rows once every part is done; return the import's counts (raise
        ``ImportAbortedError``).

        Renumbers the parts' row errors first (in this transaction: after a rollback, the
        caller renumbers them again). ``errors`` holds the repeated rows' errors, to record again
        when the import fails.
        """
        result = self.merge.add_up()
        validator = BatchValidator(self.job, self.job.file_headers)
        try:
            duplicates = self.merge.duplicates(namespaces(validator, Phase.IMPORT))
            if any(d.part in self.applied for d in duplicates.values()):
                self.undo_early()  # a part applied early holds a row to leave out
            self.renumber()
            errors = self.merge.record_errors(duplicates, validator.columns, result)
            self.errors = [
                ImportJobRowError(
                    job_id=e.job_id,
                    phase=e.phase,
                    row_number=e.row_number,
                    column=e.column,
                    message=e.message,
                    values=e.values,
                )
                for e in errors
            ]
        finally:
            validator.close()
        if result.invalid and not self.job.force_import:
            raise ImportAbortedError(self.refusal(result.invalid))
        writer = self.writer()
        for part, offset in zip(self.parts, self.merge.offsets, strict=True):
            if part.index in self.applied:
                continue
            left_out = [row - offset for row, d in duplicates.items() if d.part == part.index]
            self.apply(writer, part.index, left_out)
        result.written_pks = self.written_pks(result)
        return result

    def refusal(self, invalid: int) -> str:
        first = (
            ImportJobRowError.objects.filter(job=self.job, phase=Phase.IMPORT)
            .order_by("row_number", "id")
            .first()
        )
        where = ""
        if first is not None:
            column = f", column {first.column}" if first.column else ""
            where = f" (row {first.row_number}{column}: {first.message})"
        return (
            f"{invalid} invalid row(s){where}. Nothing was written; fix the file or force the "
            "import."
        )

    def apply(self, writer: CopyWriter, index: int, left_out: list[int]) -> None:
        new, changed = (writer.quote(name) for name in part_tables(self.job.pk, index))
        with connection.cursor() as cursor:
            if left_out:
                for table in (new, changed):
                    cursor.execute(
                        f"DELETE FROM {table} WHERE {ROW} = ANY(%s)",  # noqa: S608
                        [left_out],
                    )
            columns = ", ".join(writer.quote(f.column) for f in writer.fields.values())
            # No ORDER BY: the table is read as the part's COPY statements wrote it, in its row
            # order (keys drawn in that order too); sorting it cost a tenth of the statement.
            cursor.execute(
                f"INSERT INTO {writer.table} ({columns}) SELECT {columns} FROM {new}"  # noqa: S608
            )
            cursor.execute(f"SELECT count(*) FROM {changed}")  # noqa: S608
            (expected,) = cursor.fetchone()
        if not expected:
            return
        auto = {f.attname for f in writer.auto_now}
        names = [n for n in writer.written if n != writer.pk.attname and n not in auto]
        sql, params = writer._update_sql(changed, names, True)
        updated = writer.execute(sql, params)
        if updated != expected:
            raise ImportAbortedError(
                f"{expected - updated} row(s) to update were deleted since they were validated. "
                "Nothing was written."
            )

    def written_pks(self, result: RunResult) -> list[Any] | None:
        if result.new + result.updated > WRITTEN_PKS_KEPT:
            return None
        pk = connection.ops.quote_name(str(self.model._meta.pk.column))
        pks: list[Any] = []
        with connection.cursor() as cursor:
            for part in self.parts:
                for table in part_tables(self.job.pk, part.index):
                    cursor.execute(
                        f"SELECT {pk} FROM {connection.ops.quote_name(table)} ORDER BY {ROW}"  # noqa: S608
                    )
                    pks.extend(p if isinstance(p, int) else str(p) for (p,) in cursor.fetchall())
        return pks
