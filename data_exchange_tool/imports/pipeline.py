"""
The two runs of a job: preview (validate every row, record what would happen) and import (validate
again against the database as it is now, then write in batches).

Both read the stored file as a stream, validate it in batches through ``BatchValidator`` and report
progress between batches. The import runs in one transaction (all-or-nothing unless forced); its
caller, ``tasks.import_job``, owns that transaction and the job's transitions. Nothing here knows
about Celery, so it is tested directly.
"""

from __future__ import annotations

import gc
import io
import itertools
import math
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.files import File
from django.db import connection, connections

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import (
    EncodingGuessError,
    FileFormatError,
    ImportAbortedError,
    ImportCancelledError,
    WriteRefusedError,
)
from data_exchange_tool.imports.copying import copy_unsupported
from data_exchange_tool.imports.files import BatchDownloads
from data_exchange_tool.imports.outcomes import RowOutcome
from data_exchange_tool.imports.parts import (
    MAX_PARTS,
    CSVPartReader,
    cuttable,
    find_boundary,
    nominal_offsets,
    part_count,
    with_sentinel,
    write_csv,
)
from data_exchange_tool.imports.readers import get_reader, get_reader_class
from data_exchange_tool.imports.readers.csv import SNIFF_BYTES, CSVReader
from data_exchange_tool.imports.readers.xlsx import XLSXReader
from data_exchange_tool.imports.relations import ManyRelations
from data_exchange_tool.imports.staging import StagedKeys, StagingCopyWriter, note_converted
from data_exchange_tool.imports.validation import BatchValidator, Started, overrides
from data_exchange_tool.imports.writes import Background, BatchWriter, RecordWriter, send_all
from data_exchange_tool.models.results import (
    WRITTEN_PKS_KEPT,
    ImportJobPreviewRow,
    ImportJobRowError,
    Phase,
    RunResult,
)
from data_exchange_tool.states import RowAction
from data_exchange_tool.storage import get_storage, open_range, open_stream
from data_exchange_tool.utils import batched

if TYPE_CHECKING:
    from data_exchange_tool.imports.codecs import RowShape
    from data_exchange_tool.imports.readers.base import BaseReader
    from data_exchange_tool.models import ImportJob, ImportJobPart
    from data_exchange_tool.progress import ProgressChannel

#: Errors of an aborted import kept to show why (the rest were rolled back with it).
ABORT_ERRORS_KEPT = 1000
#: Row errors inserted together (a file with 1% invalid rows inserts once per 100,000 rows).
ERRORS_PER_INSERT = 1000
#: The smallest file whose run freezes the objects that predate it (``_freeze_old_objects``).
#: The freeze needs one full collection first (50-70 ms in a worker of 100,000 objects on the
#: bench's machine), about what a run saves per 10,000 rows of the bench's file (0.5 MB): a
#: 2,000-row preview spent 60 ms more with it, a 20,000-row one (1 MB) 75 ms less, a 100,000-row
#: one 600 ms less.
FREEZE_BYTES = 1 << 20


#: The garbage collector's first threshold during a run (Python's default is 700): a run's rows
#: hold no reference cycles, so a collection only walks live objects to find no garbage; at 700
#: allocations a collection every few rows took 0.46 s of a 2.9 s preview of 100,000 rows on the
#: bench's machine, at 20,000 about 0.13 s. The garbage a serializer's own cycles leave waits at
#: most this many allocations.
RUN_COLLECT_EVERY = 20_000


@contextmanager
def _collector_for_run(size: int) -> Iterator[None]:
    """Collect garbage less often while a run reads a file; freeze the objects that predate a
    file of ``FREEZE_BYTES`` or more (``_freeze_old_objects``). The thresholds are put back
    after, unless something else changed them meanwhile."""
    previous = gc.get_threshold()
    raised = (max(previous[0], RUN_COLLECT_EVERY), *previous[1:])
    gc.set_threshold(*raised)
    frozen = size >= FREEZE_BYTES and _freeze_old_objects()
    try:
        yield
    finally:
        if frozen:
            gc.unfreeze()
        if gc.get_threshold() == raised:
            gc.set_threshold(*previous)


def _freeze_old_objects() -> bool:
    """Keep the garbage collector's full passes off the objects that predate the run.

    A run allocates many short-lived row objects; each full collection would also walk every
    object of Django, DRF and the project (about a tenth of a preview's time). Frozen objects are
    still freed by reference counting, never by the collector: one full collection first frees
    the cycles that are garbage already. Without it a worker that runs task after task would keep
    each run's last cycles (a run's related objects, its serializer) frozen through the next run,
    unfrozen after it, frozen again by the one after: for the life of the process, a few MB a
    task. Returns False (and does nothing) when something else has frozen objects already, so
    ``gc.unfreeze()`` is only called for our own freeze.
    """
    if gc.get_freeze_count():
        return False
    gc.collect()
    gc.freeze()
    return True


class Run:
    """One pass over the job's file; subclasses decide what to do with each batch."""

    phase = Phase.PREVIEW
    #: The columns the serializer writes (set when the file's headers are read).
    shape: RowShape

    def __init__(self, job: ImportJob, channel: ProgressChannel) -> None:
        self.job = job
        self.channel = channel
        self.result = RunResult()
        self.pending_errors: list[ImportJobRowError] = []
        self.errors = RecordWriter(ImportJobRowError)

    def execute(self) -> RunResult:
        """Read, validate and handle every batch; return the counts."""
        limit = app_settings.MAX_FILE_SIZE
        if self.job.file_size and self.job.file_size > limit:
            raise FileFormatError(
                f"The file is {self.job.file_size:,} bytes; the largest accepted is {limit:,}."
            )
        if self.phase == Phase.IMPORT:  # read as the preview read it
            encoding, delimiter = self.job.file_encoding, self.job.file_delimiter
        else:
            encoding, delimiter = self.job.given_encoding, self.job.given_delimiter
        for _attempt in range(3):
            try:
                return self.read_file(encoding, delimiter)
            except EncodingGuessError as exc:
                if self.phase == Phase.IMPORT:
                    raise
                encoding = exc.encoding
                self.restart()
        raise FileFormatError(
            "The file's text encoding was not recognised: choose its encoding on upload, or save "
            "it as UTF-8."
        )

    def restart(self) -> None:
        """Forget what an attempt recorded, before reading the file again."""
        self.result = RunResult()
        self.pending_errors = []

    def read_file(self, encoding: str, delimiter: str = "") -> RunResult:
        """Read the file once with ``encoding`` and ``delimiter`` ("" to detect them); return
        the counts."""
        reader = self.make_reader(encoding, delimiter)
        with reader:
            self.job.file_encoding = reader.encoding
            self.job.file_delimiter = reader.delimiter
            self.job.file_headers = list(reader.headers)
            validator = self.make_validator(reader.headers)
            self.columns = validator.columns
            self.shape = validator.shape
            try:
                with _collector_for_run(int(self.job.file_size or 0)):
                    self.read_batches(reader, validator)
            finally:
                validator.close()
        self.flush_errors()
        self.channel.report(self.result.total, self.result.total, force=True)
        return self.result

    def read_batches(self, reader: BaseReader, validator: BatchValidator) -> None:
        """Validate, count and handle each batch of the file."""
        batches = batched(reader.iter_rows(), self.job.get_batch_size())
        batch = next(batches, None)
        while batch is not None:
            outcomes = validator.validate(batch)
            self.prepare(outcomes)
            self.result.count(outcomes)
            # Progress, the cancel check and the next batch's related objects before this
            # batch is handled: the import may write it on a background thread while the next
            # one is validated, and a query would wait for the write.
            self.between_batches(reader)
            batch = next(batches, None)
            if batch is not None:
                validator.prefetch(batch)
            self.handle(outcomes)

    def read_ahead(self, reader: BaseReader, validator: BatchValidator) -> None:
        """``read_batches`` with each batch's lookup of its stored rows sent from the run's
        background thread (``lookup_thread``): the server answers while Python works. Batch N
        is started (validated up to its lookup) and its lookup queued at once, behind the
        write of N-2 the server may still be on; then batch N-1 is finished (its lookup, queued
        a round earlier, waited for alone), counted and handled once N-2's write and N's lookup
        are answered (an earlier refusal is told first). So the server writes N-2 while N is
        validated, and looks N's rows up while N-1 is finished."""
        batches = batched(reader.iter_rows(), self.job.get_batch_size())
        batch = next(batches, None)
        waiting: tuple[Started, Future | None] | None = None
        while batch is not None or waiting is not None:
            started = validator.start(batch) if batch is not None else None
            sent = self.send_lookup(validator, started)
            batch = next(batches, None)
            outcomes = None
            if waiting is not None:
                outcomes = self.finish_batch(reader, validator, *waiting)
            if batch is not None:  # before the write: its query would wait for it
                validator.prefetch(batch)
            if outcomes is not None:
                self.handle(outcomes)
            waiting = (started, sent) if started is not None else None

    def send_lookup(self, validator: BatchValidator, started: Started | None) -> Future | None:
        """Queue a started batch's lookup on the background thread; return its future (None:
        the lookup runs in line, when the batch is finished)."""
        lookup = started.lookup if started is not None else None
        background = self.lookup_thread(validator)
        if lookup is None or not lookup.apart or background is None:
            return None
        return background.queue(lookup.fetch)

    def finish_batch(
        self,
        reader: BaseReader,
        validator: BatchValidator,
        started: Started,
        sent: Future | None = None,
    ) -> list[RowOutcome]:
        """Give a started batch's rows their actions and count them; return its outcomes.

        ``sent``: the batch's lookup, queued on the background thread; it is waited for (or
        the error it raised), not what was queued after it.
        """
        background = self.lookup_thread(validator)
        if background is not None and sent is not None:
            background.wait(until=sent)
        outcomes = validator.finish(started)
        self.prepare(outcomes)
        self.result.count(outcomes)
        self.between_batches(reader)
        return outcomes

    def lookup_thread(self, validator: BatchValidator) -> Background | None:
        """Return the thread that may send the lookups of stored rows (None: sent in line):
        the run's background thread, where it serves the lookups' connection."""
        background = self.background_thread()
        if background is None or validator.lookups_on is not background.connection:
            return None
        return background

    def background_thread(self) -> Background | None:
        """Return the thread the run sends its writes from (None: none)."""
        return None

    def make_reader(self, encoding: str, delimiter: str) -> BaseReader:
        """Return the reader of the job's file (not opened yet)."""
        name = self.job.file_name or self.job.file.name or ""
        return get_reader(name, self.open_file(), encoding, delimiter)

    def make_validator(self, headers: list[str]) -> BatchValidator:
        """Return the validator of the run's batches."""
        return BatchValidator(self.job, headers, for_display=self.phase == "preview")

    def save_errors(self, rows: list[ImportJobRowError]) -> None:
        """Queue error rows; they are inserted ``ERRORS_PER_INSERT`` at a time."""
        self.pending_errors.extend(rows)
        if len(self.pending_errors) >= ERRORS_PER_INSERT:
            self.flush_errors()

    def flush_errors(self) -> None:
        """Insert the queued error rows."""
        self.errors.insert(self.pending_errors)
        self.pending_errors = []

    def open_file(self) -> Any:
        """Open the job's stored file as a stream, or say plainly that it is gone."""
        if not self.job.file:
            raise FileFormatError("The job has no file.")
        try:
            return open_stream(self.job.file.name or "")
        except Exception as exc:  # storages raise OSError, botocore ClientError, ...
            if "NoSuchKey" in repr(exc) or isinstance(exc, FileNotFoundError | OSError):
                raise FileFormatError(
                    f"The uploaded file {self.job.file_name or self.job.file.name!r} is missing "
                    "from storage; upload it again."
                ) from exc
            raise

    def prepare(self, outcomes: list[RowOutcome]) -> None:
        """Finish a validated batch before it is counted and handled. Does nothing by default."""

    def handle(self, outcomes: list[RowOutcome]) -> None:
        """Do what the run does with a validated batch."""
        raise NotImplementedError

    def progress_counts(self) -> dict[str, int] | None:
        """Return the counts to report with the progress (None: the run reports none)."""
        return None

    def between_batches(self, reader: Any) -> None:
        """Report progress and stop when cancelled."""
        done = self.result.total
        total = max(done, reader.estimate_total_rows(done, self.job.file_size))
        self.channel.report(done, total, counts=self.progress_counts())
        if self.channel.cancel_requested(on=self.background_thread()):
            raise ImportCancelledError(self.job.pk)

    def row_values(self, cells: list[str]) -> dict[str, str]:
        """Return a row as ``{header: text}`` to store (NUL, refused by PostgreSQL, as U+FFFD)."""
        headers = self.columns.headers
        if len(cells) == len(headers) and all(headers) and "\x00" not in "".join(cells):
            return dict(zip(headers, cells, strict=True))  # the common row, in one call
        values = self.columns.values(cells)
        return {h: t.replace("\x00", "\ufffd") if "\x00" in t else t for h, t in values.items()}

    def error_rows(self, outcomes: Iterable[RowOutcome]) -> list[ImportJobRowError]:
        """Return unsaved error rows for the invalid outcomes."""
        return [
            ImportJobRowError(
                job_id=self.job.pk,
                phase=self.phase,
                row_number=outcome.row_number,
                column=column[:255],
                message=message,
                values=self.row_values(outcome.cells),
            )
            for outcome in outcomes
            for column, message in outcome.errors
        ]


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):  # the items of a many-to-many cell
        return [_json_value(item) for item in value]
    return str(value)


class PreviewRun(Run):
    """Validate every row and record errors, counts and the rows of the preview's table.

    The table keeps the first ``DATA_EXCHANGE_PREVIEW_KEEP_ROWS`` invalid and updated rows (what a
    person must read before confirming) and the first ``get_preview_sample_size()`` new and
    unchanged rows, inserted with one query per batch.
    """

    phase = Phase.PREVIEW

    def __init__(self, job: ImportJob, channel: ProgressChannel) -> None:
        super().__init__(job, channel)
        self.keep_left = self.rows_to_keep()
        self.preview_rows = RecordWriter(ImportJobPreviewRow)
        #: Sends each batch's preview rows while the next batch is validated (PostgreSQL, with
        #: ``DATA_EXCHANGE_OVERLAP_WRITES``), as the import sends its batches: see ``Background``.
        self.background: Background | None = None

    def read_file(self, encoding: str, delimiter: str = "") -> RunResult:
        if app_settings.OVERLAP_WRITES and self.preview_rows.copies:
            self.background = Background(connections[self.preview_rows.using])
        try:
            result = super().read_file(encoding, delimiter)
            if self.background is not None:
                self.background.wait()  # the last batch's rows are in (or their error raised)
            return result
        finally:
            if self.background is not None:
                self.background.close()
                self.background = None

    def read_batches(self, reader: BaseReader, validator: BatchValidator) -> None:
        if self.lookup_thread(validator) is None:
            super().read_batches(reader, validator)
        else:
            self.read_ahead(reader, validator)

    def background_thread(self) -> Background | None:
        return self.background

    def rows_to_keep(self) -> dict[str, int]:
        """Return how many rows of each action the table keeps."""
        sample = self.job.get_preview_sample_size()
        keep = int(app_settings.PREVIEW_KEEP_ROWS)
        return {
            RowAction.INVALID: keep,
            RowAction.UPDATE: keep,
            RowAction.NEW: sample,
            RowAction.UNCHANGED: sample,
        }

    def restart(self) -> None:
        super().restart()
        ImportJobRowError.objects.filter(job_id=self.job.pk).delete()
        ImportJobPreviewRow.objects.filter(job_id=self.job.pk).delete()
        self.keep_left = self.rows_to_keep()

    def progress_counts(self) -> dict[str, int]:
        """The preview's counts grow as it goes: the page shows them live."""
        return self.result.as_counts()

    def handle(self, outcomes: list[RowOutcome]) -> None:
        self.save_errors(self.error_rows(o for o in outcomes if o.errors))
        kept = []
        keep_left = self.keep_left
        for outcome in outcomes:
            if keep_left.get(outcome.action, 0) > 0:
                keep_left[outcome.action] -= 1
                kept.append(self.sample_row(outcome))
        if self.background is None or not kept:
            self.preview_rows.insert(kept)
            return
        with self.preview_rows.deferring() as statements:
            self.preview_rows.insert(kept)
        self.background.submit(lambda: send_all(statements))

    def sample_row(self, outcome: RowOutcome) -> dict[str, Any]:
        """Return the preview row of an outcome as ``{attname: value}``, to insert."""
        changes = {
            name: [_json_value(old), _json_value(new)]
            for name, (old, new) in itertools.chain(
                outcome.changes.items(), outcome.relation_changes.items()
            )
        }
        return {
            "job_id": self.job.pk,
            "row_number": outcome.row_number,
            # The plain text of the choice: a ``RowAction`` member would take the codec's slow
            # path (psycopg's dumper), for the same text.
            "action": str(outcome.action),
            "values": self.row_values(outcome.cells),
            "changes": changes,
            "errors": [[column[:255], message] for column, message in outcome.errors],
        }


class ImportRun(Run):
    """Validate again and write in batches; invalid rows abort the run unless it is forced.

    The writer (``writes.BatchWriter``) may write a batch on a background thread while the next
    one is validated (``DATA_EXCHANGE_OVERLAP_WRITES``); ``execute`` waits for it and releases it
    before returning or raising, inside the caller's transaction. A batch the database refuses
    aborts the run naming the file's row.
    """

    phase = Phase.IMPORT

    def __init__(self, job: ImportJob, channel: ProgressChannel) -> None:
        super().__init__(job, channel)
        self.writer: BatchWriter | None = None
        self.downloads = BatchDownloads(job)
        self.abort_errors: list[ImportJobRowError] = []
        self.written_pks: list[Any] | None = []

    def execute(self) -> RunResult:
        try:
            result = super().execute()
            if self.writer is not None:
                self.writer.finish()
        except WriteRefusedError as exc:
            raise self.refused(exc) from exc
        finally:
            if self.writer is not None:
                self.writer.close()
        result.written_pks = self.written_pks
        return result

    def prepare(self, outcomes: list[RowOutcome]) -> None:
        """Download the files the batch's rows give by URL; a failed download fails its row."""
        self.downloads.fetch(outcomes, self.columns.header_of)

    def close(self, committed: bool) -> None:
        """Delete the files this run stored when its transaction did not commit."""
        if not committed:
            self.downloads.discard()

    def refused(self, exc: WriteRefusedError) -> ImportAbortedError:
        """Return the abort of a batch the database refused, naming the row it refused."""
        outcome = exc.outcome
        if outcome is None:
            rows = [o.row_number for o in exc.batch]
            where = f"a batch (rows {min(rows)}-{max(rows)})" if rows else "a batch"
            return ImportAbortedError(
                f"The database refused {where}: {exc.message}. Nothing was written."
            )
        column = self.shape.name_of.get(exc.column, exc.column) if exc.column else ""
        header = self.columns.header_of.get(column, column)
        outcome.fail(header, exc.message)
        self.abort_errors = self.error_rows([outcome])
        where = f"row {outcome.row_number}" + (f", column {header}" if header else "")
        return ImportAbortedError(
            f"The database refused {where}: {exc.message}. Nothing was written."
        )

    def remember_written(self, outcomes: list[RowOutcome]) -> None:
        """Keep the pks of the written rows while they are few and known (for the admin's link)."""
        if self.written_pks is None:
            return
        for outcome in outcomes:
            pk = outcome.pk
            if pk is None or len(self.written_pks) >= WRITTEN_PKS_KEPT:
                self.written_pks = None
                return
            self.written_pks.append(pk if isinstance(pk, int) else str(pk))

    def handle(self, outcomes: list[RowOutcome]) -> None:
        background = self.background_thread()
        if background is not None:  # an earlier batch's refusal is told before these rows
            background.wait()
        invalid = [o for o in outcomes if o.errors]
        if invalid and not self.job.force_import:
            self.abort_errors = self.error_rows(invalid)[:ABORT_ERRORS_KEPT]
            first = invalid[0]
            column, message = first.errors[0]
            where = f"row {first.row_number}" + (f", column {column}" if column else "")
            raise ImportAbortedError(
                f"{len(invalid)} invalid row(s) in a batch ({where}: {message}). "
                "Nothing was written; fix the file or force the import."
            )
        self.save_errors(self.error_rows(invalid))
        self.get_writer().write(outcomes)

    def read_batches(self, reader: BaseReader, validator: BatchValidator) -> None:
        # Only where a writer thread will send the lookups (PostgreSQL's COPY path, no
        # after_import_row hook): elsewhere reading ahead would only reorder the batches.
        lookups_on = validator.lookups_on
        if (
            app_settings.OVERLAP_WRITES
            and validator.reads_ahead
            and lookups_on is not None
            and lookups_on.vendor == "postgresql"
            and not overrides(self.job, "after_import_row")
        ):
            self.get_writer()  # its thread sends the first batch's lookup too
            self.read_ahead(reader, validator)
        else:
            super().read_batches(reader, validator)

    def background_thread(self) -> Background | None:
        return self.writer.background if self.writer is not None else None

    def get_writer(self) -> BatchWriter:
        """Return the run's writer, made on the first batch (it needs the validator's shape)."""
        if self.writer is None:
            job = self.job
            hook = job.after_import_row if overrides(job, "after_import_row") else None
            model = job.get_target_model()
            fields = job.get_serializer().fields.items()
            in_file = self.columns.header_of  # a file without a relation's column leaves it be
            writable = {n: f for n, f in fields if not f.read_only and n in in_file}
            self.writer = BatchWriter(
                model,
                self.shape,
                on_written=self.remember_written,
                after_row=hook,
                overlap=bool(app_settings.OVERLAP_WRITES),
                relations=ManyRelations(model, writable),
            )
        return self.writer


class PartReading:
    """What the runs of a part share: reading its byte range, numbering from its start.

    A part finds its own start and end (``parts.find_boundary``), numbers its rows from the
    part's start (``part`` set on its error and preview rows until the merge renumbers them) and
    stages its keys for the merge (``staging.StagedKeys``) instead of remembering them. The
    encoding and delimiter are the lead's: a part never guesses again.
    """

    job: ImportJob
    part: ImportJobPart
    staged: StagedKeys
    reader: CSVPartReader | None
    phase: Phase

    @property
    def records(self) -> int:
        """The records the part read (known once it has run)."""
        return self.reader.records if self.reader is not None else 0

    def source(self) -> tuple[str, int, str, str]:
        """Return the file the part cuts: its name, size, encoding and delimiter."""
        part, job = self.part, self.job
        if part.source:  # the CSV the lead converted a workbook to
            return part.source, int(part.source_size or 0), "utf-8", ","
        return job.file.name or "", int(job.file_size or 0), job.file_encoding, job.file_delimiter

    def bounds(self) -> tuple[int, int | None]:
        """Return the byte range of the part: the record boundaries at its nominal offsets."""
        name, size, _encoding, delimiter = self.source()

        def read(start: int, length: int) -> bytes:
            with open_range(name, start, start + length) as stream:
                return stream.read()

        start = find_boundary(read, self.part.start, size, delimiter)
        end = None if self.part.end is None else find_boundary(read, self.part.end, size, delimiter)
        return start, end

    def make_reader(self, encoding: str, delimiter: str) -> BaseReader:
        name, size, _encoding, _delimiter = self.source()
        start, end = self.bounds()
        stream = open_range(name, start, end)
        verify = end is not None
        if verify:
            stream = with_sentinel(stream, encoding)
        self.reader = CSVPartReader(
            stream,
            max_cell_length=int(app_settings.MAX_CELL_LENGTH),
            encoding=encoding,
            delimiter=delimiter,
            headers=None if self.part.index == 0 else self.job.file_headers,
            verify=verify,
            size=(end if end is not None else size) - start,
        )
        return self.reader

    def make_validator(self, headers: list[str]) -> BatchValidator:
        display = self.phase == Phase.PREVIEW
        return BatchValidator(self.job, headers, for_display=display, seen=self.staged)


class PartPreviewRun(PartReading, PreviewRun):
    """The preview of one part of a partitioned file (``imports.parts``)."""

    def __init__(self, job: ImportJob, part: ImportJobPart, channel: ProgressChannel) -> None:
        super().__init__(job, channel)
        self.part = part
        self.staged = StagedKeys(job.pk, part.index)
        self.reader = None

    def execute(self) -> RunResult:
        _name, _size, encoding, delimiter = self.source()
        return self.read_file(encoding, delimiter)

    def handle(self, outcomes: list[RowOutcome]) -> None:
        self.staged.stage(outcomes)
        super().handle(outcomes)

    def error_rows(self, outcomes: Iterable[RowOutcome]) -> list[ImportJobRowError]:
        rows = super().error_rows(outcomes)
        for row in rows:
            row.part = self.part.index
        return rows

    def sample_row(self, outcome: RowOutcome) -> dict[str, Any]:
        row = super().sample_row(outcome)
        row["part"] = self.part.index
        return row


class PartImportRun(PartReading, ImportRun):
    """The import of one part: validated against the database as it is, staged, not written.

    Its valid rows go into the part's staging tables (``staging.StagingCopyWriter``), encoded
    as the single import would write them; its invalid rows are recorded (with the part's row
    numbers) and, unless the import is forced, nothing more is staged: the apply refuses the
    import. It runs outside a transaction: a part that runs again starts its tables over.
    """

    def __init__(self, job: ImportJob, part: ImportJobPart, channel: ProgressChannel) -> None:
        super().__init__(job, channel)
        self.part = part
        self.staged = StagedKeys(job.pk, part.index)
        self.reader = None
        self.invalid_seen = False
        self.staging: StagingCopyWriter

    def execute(self) -> RunResult:
        _name, _size, encoding, delimiter = self.source()
        try:
            result = self.read_file(encoding, delimiter)
            self.get_writer().finish()  # its tables exist even when it staged no row
        except WriteRefusedError as exc:
            raise self.refused(exc) from exc
        finally:
            if self.writer is not None:
                self.writer.close()
        return result

    def prepare(self, outcomes: list[RowOutcome]) -> None:
        """Nothing to download: a job type with file columns is not partitioned."""

    def handle(self, outcomes: list[RowOutcome]) -> None:
        self.staged.stage(outcomes)
        invalid = [o for o in outcomes if o.errors]
        self.invalid_seen = self.invalid_seen or bool(invalid)
        if self.job.force_import:
            self.save_errors(self.error_rows(invalid))
        elif invalid:  # the import will be refused: keep why, stage nothing more
            self.save_errors(self.error_rows(invalid)[:ABORT_ERRORS_KEPT])
        if self.job.force_import or not self.invalid_seen:
            self.stage(outcomes)

    def stage(self, outcomes: list[RowOutcome]) -> None:
        """Stage the batch's new and changed rows."""
        writer = self.get_writer()
        table = self.staging
        table.rows_of_new = [o.row_number for o in outcomes if o.action == RowAction.NEW]
        table.rows_of_updates = [
            o.row_number for o in outcomes if o.action == RowAction.UPDATE and o.changes
        ]
        writer.write(outcomes)

    def get_writer(self) -> BatchWriter:
        if self.writer is None:
            model = self.job.get_target_model()
            self.writer = BatchWriter(model, self.shape, on_written=lambda _outcomes: None)
            self.staging = StagingCopyWriter(
                model, self.shape.attnames, self.job.pk, self.part.index
            )
            self.writer.table = self.staging
            if app_settings.OVERLAP_WRITES:  # staged from a background thread, as the single
                # import writes (autocommit: each statement of the part commits on its own)
                self.writer.background = Background(connections[connection.alias])
        return self.writer

    def error_rows(self, outcomes: Iterable[RowOutcome]) -> list[ImportJobRowError]:
        rows = super().error_rows(outcomes)
        for row in rows:
            row.part = self.part.index
        return rows


def import_partitionable(job: ImportJob) -> bool:
    """Return True when the job's import may run in parts: what it writes, ``COPY`` writes.

    Not: many-to-many relations or files in the file's columns, an ``after_import_row`` hook, a
    target ``COPY`` cannot write (``copying.copy_unsupported``).
    """
    if overrides(job, "after_import_row") or not job.file_headers:
        return False
    validator = BatchValidator(job, job.file_headers)
    try:
        if validator.relations or validator.files:
            return False
        model = job.get_target_model()
        return copy_unsupported(model, validator.shape.attnames) is None
    finally:
        validator.close()


@dataclass
class PartPlan:
    """How a job's file is cut: nominal byte ranges of a file (the job's, or ``source``)."""

    ranges: list[tuple[int, int | None]]
    #: The UTF-8 CSV a workbook was converted to ("": the job's own file) and its size.
    source: str = ""
    source_size: int | None = None


#: The bytes of a workbook's row, at least: a smaller workbook is not converted to be cut.
XLSX_BYTES_PER_ROW = 8


def may_partition(job: ImportJob) -> bool:
    """Return True when the job may run in parts at all: PostgreSQL, ``get_part_rows()`` above 0,
    no ``before_import_row`` hook (it is given the file's row number, which a part does not
    know), and not sent back to one task (a file that could not be cut)."""
    if job.get_part_rows() <= 0 or connection.vendor != "postgresql" or not job.file_size:
        return False
    return not ((job.options or {}).get("single_task") or overrides(job, "before_import_row"))


def plan_parts(job: ImportJob, phase: str = Phase.PREVIEW) -> PartPlan | None:
    """Return how the job's file is cut into parts, or None to run in one task.

    A CSV file: its head only is read; the encoding, delimiter and header found are set on
    ``job`` (an import reads the file as its preview did). A workbook is converted to CSV first
    (``convert_workbook``).
    """
    if not may_partition(job):
        return None
    part_rows = job.get_part_rows()
    name = job.file_name or job.file.name or ""
    reader_class = get_reader_class(name)
    if issubclass(reader_class, XLSXReader):
        if int(job.file_size or 0) < part_rows * XLSX_BYTES_PER_ROW:
            return None
        return convert_workbook(job, part_rows)
    if not issubclass(reader_class, CSVReader):
        return None
    with open_range(job.file.name or "", 0, SNIFF_BYTES) as stream:
        head = stream.read()
    if phase == Phase.IMPORT:
        encoding, delimiter = job.file_encoding, job.file_delimiter
    else:
        encoding, delimiter = job.given_encoding, job.given_delimiter
    reader = get_reader(name, io.BytesIO(head), encoding, delimiter)
    with reader:
        if not cuttable(reader.encoding, reader.delimiter):
            return None
        count = part_count(int(job.file_size or 0), head, part_rows)
        if count <= 1:
            return None
        job.file_encoding = reader.encoding
        job.file_delimiter = reader.delimiter
        job.file_headers = list(reader.headers)
    return PartPlan(nominal_offsets(int(job.file_size or 0), count))


def convert_workbook(job: ImportJob, part_rows: int) -> PartPlan | None:
    """Read the job's workbook once and store its rows as a UTF-8 CSV file the parts cut.

    None (and nothing stored) when it holds no more than ``part_rows`` rows.
    """
    name = job.file_name or job.file.name or ""
    with (
        get_reader(name, open_stream(job.file.name or "")) as reader,
        tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as out,
    ):
        rows = write_csv(reader.headers, reader.iter_rows(), out)
        headers = list(reader.headers)
        if rows <= part_rows:
            return None
        out.flush()
        size = os.fstat(out.fileno()).st_size
        buffer: Any = out.buffer  # the BufferedRandom under the text file
        buffer.seek(0)
        storage = get_storage()
        # A name of its own for each conversion, noted on the job before the file exists: a
        # lead killed after storing it leaves a file the next attempt, or the job's end,
        # deletes; a stale deletion of an earlier name never hits a later conversion's file.
        name = storage.get_available_name(f"data_exchange/parts/{job.pk}-{uuid.uuid4().hex}.csv")
        note_converted(job, name)
        source = storage.save(name, File(buffer))
    job.file_headers = headers
    count = min(MAX_PARTS, math.ceil(rows / part_rows))
    return PartPlan(nominal_offsets(size, count), source, size)
