"""
Writes: a validated batch into the target table.

``BatchWriter`` is the import's write step. It takes a batch's outcomes, inserts the new rows and
updates the changed ones (changed columns only, plus ``auto_now`` columns); unchanged rows are not
written, and a row whose only changes are its many-to-many relations updates no column. Each
written row's primary key ends up on its outcome, and then the relations of the written rows are
written per field in bulk (``relations.ManyRelations``). Rows are written from their values
(``RowOutcome.row``), without a model instance per row, through a table writer:

- ``copying.CopyWriter`` on PostgreSQL: ``COPY`` for new rows, one ``UPDATE ... FROM`` a
  temporary table for changed rows.
- ``BulkWriter`` elsewhere (SQLite in the demo and the fast tests), or where ``COPY`` cannot
  write the model (multi-table inheritance, a field with its own ``pre_save``): ``bulk_create``
  and ``bulk_update``, with ``auto_now`` set on the changed rows (``bulk_update`` skips
  ``pre_save``).

A job type that overrides ``after_import_row(instance, ...)`` gets saved instances: after each
batch the written rows are read back by primary key (one query per batch), a slower path taken
only for such job types.

On PostgreSQL the write of batch N may run on a background thread while batch N+1 is validated
(``DATA_EXCHANGE_OVERLAP_WRITES``; never with an ``after_import_row`` hook): see ``Background``.

``RecordWriter`` inserts the library's own rows (the preview's rows, row errors) the same way:
``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connections, models, router

from data_exchange_tool.exceptions import WriteRefusedError
from data_exchange_tool.imports.codecs import Clock, Row, is_auto_now
from data_exchange_tool.imports.copying import Change, CopyWriter, copy_unsupported
from data_exchange_tool.imports.relations import ManyRelations
from data_exchange_tool.states import RowAction

if TYPE_CHECKING:
    from data_exchange_tool.imports.codecs import RowShape
    from data_exchange_tool.imports.outcomes import RowOutcome

    Hook = Callable[[models.Model, int, str], None]


class BulkWriter:
    """Any database: ``bulk_create`` and ``bulk_update``, ``auto_now`` honoured on updates."""

    def __init__(self, model: type[models.Model], written: Sequence[str], using: str) -> None:
        self.model = model
        self.meta = model._meta
        self.written = list(written)
        self.manager = model._base_manager.db_manager(using)
        self.auto_now = [f for f in self.meta.concrete_fields if is_auto_now(f)]

    def insert(self, rows: Sequence[Row]) -> list[Any]:
        """``bulk_create`` (which calls ``pre_save(add=True)``: ``auto_now(_add)`` are set);
        return the new primary keys (None where the database cannot return them)."""
        objs = [self.model(**row) for row in rows]
        try:
            self.manager.bulk_create(objs)
        except DatabaseError as exc:
            raise WriteRefusedError(str(exc)) from exc
        return [obj.pk for obj in objs]

    def update(self, changes: Sequence[Change]) -> int:
        """``bulk_update`` of the union of the changed columns plus the ``auto_now`` columns.

        A row that does not carry a column of the union gets its current value, read with one
        query, so one ``bulk_update`` writes the batch.
        """
        changes = [(pk, values) for pk, values in changes if values]
        if not changes:
            return 0
        auto = [f.attname for f in self.auto_now]
        names = [n for n in self.written if any(n in v for _, v in changes) and n not in auto]
        current = self._current(changes, names)
        clock = Clock.read()
        objs = []
        for pk, values in changes:
            obj = self.model(**{self.meta.pk.attname: pk, **current.get(pk, {}), **values})
            for field in self.auto_now:
                setattr(obj, field.attname, clock.value_for(field))
            objs.append(obj)
        try:
            return self.manager.bulk_update(objs, [*names, *auto])
        except DatabaseError as exc:
            raise WriteRefusedError(str(exc)) from exc

    def _current(self, changes: Sequence[Change], names: list[str]) -> dict[Any, dict]:
        partial = [pk for pk, values in changes if any(n not in values for n in names)]
        if not partial:
            return {}
        found = self.manager.filter(pk__in=partial).values_list("pk", *names)
        return {pk: dict(zip(names, values, strict=True)) for pk, *values in found}


def writer_for(
    model: type[models.Model], written: Sequence[str], using: str
) -> CopyWriter | BulkWriter:
    """Return a ``CopyWriter`` on PostgreSQL inside a transaction when it can write ``model``
    and give new rows their keys, else a ``BulkWriter``."""
    connection = connections[using]
    if (
        connection.vendor == "postgresql"
        and connection.in_atomic_block
        and copy_unsupported(model, written) is None
    ):
        writer = CopyWriter(model, written, using)
        if writer.sequence is not None or not isinstance(writer.pk, models.AutoField):
            return writer
    return BulkWriter(model, written, using)


class RecordWriter:
    """The library's own rows (the preview's rows, row errors), inserted in bulk: by ``COPY``
    on PostgreSQL (about half the time of ``bulk_create`` for rows with JSON columns), else by
    ``bulk_create``. Their keys are left to the table's default: nothing reads them back."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.using = router.db_for_write(model)
        self.names = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        self._copy: CopyWriter | None = None

    def insert(self, objs: Sequence[models.Model | dict[str, Any]]) -> None:
        """Insert unsaved instances, or rows given as ``{attname: value}`` (a missing column
        takes its default), without building an instance for each on PostgreSQL (their pks
        stay unset there)."""
        if not objs:
            return
        if not self.copies:
            self.model._base_manager.using(self.using).bulk_create(
                [o if isinstance(o, models.Model) else self.model(**o) for o in objs]
            )
            return
        names = self.names
        self._copy_writer().insert(
            [o if isinstance(o, dict) else {name: getattr(o, name) for name in names} for o in objs]
        )

    def _copy_writer(self) -> CopyWriter:
        if self._copy is None:
            self._copy = CopyWriter(self.model, self.names, self.using, keys=False)
        return self._copy

    @property
    def copies(self) -> bool:
        """True when ``insert`` writes by ``COPY`` (PostgreSQL)."""
        return connections[self.using].vendor == "postgresql"

    def deferring(self) -> AbstractContextManager[list[Callable[[], Any]]]:
        """``CopyWriter.deferring`` of the inserts made inside (only where ``copies``): their
        rows are encoded now, the list holds the statements that send them."""
        return self._copy_writer().deferring()


def send_all(statements: Sequence[Callable[[], Any]]) -> None:
    """Run statements ``CopyWriter.deferring`` collected, in order."""
    for statement in statements:
        statement()


def _nothing() -> None:
    pass


class Background:
    """One batch at a time on one thread, on the import's own connection.

    The connection serves one thread at a time. ``submit`` waits for the batch in flight before
    sending the next; an execute wrapper, first on the connection, makes any other statement of
    another thread (validation's queries, the row errors' inserts, a hook's queries) wait for it
    too. The batch's exception is raised where it is waited for: by the next ``submit``, the
    next query of the import's thread, or ``wait``. ``close`` waits and releases the thread; it
    must run before the transaction ends (the rollback or commit happens on the import's thread
    with no batch in flight).

    While it lives, Python's thread switch interval is at most ``SWITCH_INTERVAL`` (the process's
    own, 5 ms by default, is set back by ``close``): the writing thread needs the interpreter's
    lock for a moment each time the server answers, and waiting 5 ms for the validating thread
    to give it up, several times a batch, held each batch's write back (measured on the
    benchmark's 100k-row CSV import: 7.2 to 7.4 s with 5 ms, 5.8 to 6.3 s with 0.1 to 1 ms).
    """

    #: Seconds: the longest Python lets a thread run while another waits for the lock.
    SWITCH_INTERVAL = 0.001

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, self.SWITCH_INTERVAL))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dxt-writer")
        self._pending: list[tuple[Future, Callable[[], None]]] = []
        self._worker: threading.Thread | None = None
        self.connection.inc_thread_sharing()
        self.connection.execute_wrappers.insert(0, self._wait_unless_worker)

    def submit(self, work: Callable[[], None], done: Callable[[], None] = _nothing) -> Future:
        """Wait for the batch in flight, then start ``work``; ``done`` runs on this thread once
        ``work`` has finished without error. Return its future."""
        self.wait()
        future = self._pool.submit(self._run, work)
        self._pending.append((future, done))
        return future

    def queue(self, work: Callable[[], Any]) -> Future:
        """Start ``work`` after the work in flight, without waiting for it (a batch's lookup of
        its stored rows, answered while this thread finishes the batch before); return its
        future, to wait for it alone (``wait(until=...)``)."""
        future = self._pool.submit(self._run, work)
        self._pending.append((future, _nothing))
        return future

    def _run(self, work: Callable[[], Any]) -> Any:
        self._worker = threading.current_thread()
        return work()

    def wait(self, until: Future | None = None) -> None:
        """Wait for the work in flight, or only up to ``until`` (work queued after it goes on);
        raise the first exception of it, once all of it has ended (``done`` runs for the work
        before a failure only).

        Every ``done`` runs once all of the work has ended (``until`` is then ignored): a
        ``done`` uses the connection from this thread (a batch's many-to-many rows), which must
        not meet work queued behind its batch (the next batch's lookup) still running on the
        other.
        """
        if until is None:
            pending, self._pending = self._pending, []
        else:
            futures = [future for future, _ in self._pending]
            if until not in futures:
                return  # waited for already
            cut = futures.index(until) + 1
            if any(done is not _nothing for _, done in self._pending[:cut]):
                cut = len(futures)  # a ``done`` runs with nothing in flight
            pending, self._pending = self._pending[:cut], self._pending[cut:]
        errors = [future.exception() for future, _ in pending]
        for (_, done), error in zip(pending, errors, strict=True):
            if error is not None:
                raise error
            done()

    def _wait_unless_worker(
        self, execute: Callable, sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if threading.current_thread() is not self._worker:
            self.wait()
        return execute(sql, params, many, context)

    def close(self) -> None:
        """Let the batch in flight end (its error is not raised here: ``wait`` raises it) and
        release the thread and the connection."""
        try:
            for future, _ in self._pending:
                future.exception()
        finally:
            self._pending = []
            self._pool.shutdown(wait=True)
            sys.setswitchinterval(self._switch_interval)
            self.connection.execute_wrappers.remove(self._wait_unless_worker)
            self.connection.dec_thread_sharing()


class BatchWriter:
    """Write the new and changed rows of each batch into the job type's target.

    ``on_written(outcomes)`` is called on the import's thread once a batch is written (its rows
    hold their primary keys). ``after_row`` is the job type's ``after_import_row`` when it
    overrides it: the written rows are then read back as instances for it, and batches are
    written in line. ``overlap``: write on a background thread (PostgreSQL's ``COPY`` path only).
    ``relations``: the many-to-many relations written after each batch's rows.
    """

    def __init__(
        self,
        model: type[models.Model],
        shape: RowShape,
        *,
        on_written: Callable[[list[RowOutcome]], None],
        after_row: Hook | None = None,
        overlap: bool = False,
        relations: ManyRelations | None = None,
    ) -> None:
        self.model = model
        self.shape = shape
        self.relations = relations
        self.on_written = on_written
        self.after_row = after_row
        self.using = router.db_for_write(model)
        self.table = writer_for(model, shape.attnames, self.using)
        self.background = (
            Background(connections[self.using])
            if overlap and after_row is None and isinstance(self.table, CopyWriter)
            else None
        )

    def write(self, outcomes: list[RowOutcome]) -> None:
        """Write a batch (in line, or on the background thread)."""
        new = [o for o in outcomes if o.action == RowAction.NEW]
        updated = [o for o in outcomes if o.action == RowAction.UPDATE]
        if not new and not updated:
            return
        written = [*new, *updated]
        if self.background is None:
            self._write(new, updated)
            if self.after_row is not None:
                self._call_hook(self.after_row, written)
            self.on_written(written)
        else:
            # Values are encoded and keys drawn here; the background thread only sends the
            # statements and waits for the server, while this thread validates the next batch.
            changed = [o for o in updated if o.changes]
            table: CopyWriter = self.table  # type: ignore[assignment]  # see __init__
            with table.deferring() as inserts:
                self._insert_rows(new)
            with table.deferring() as updates:
                self._update_rows(changed)
            self.background.submit(
                lambda: self._send(inserts, new, updates, changed),
                lambda: self._written(written),
            )

    def _send(
        self,
        inserts: list[Callable[[], Any]],
        new: list[RowOutcome],
        updates: list[Callable[[], Any]],
        changed: list[RowOutcome],
    ) -> None:
        """Run a batch's collected statements (on the background thread: only these, which use
        the import's connection itself; the ORM there would open a connection of its own,
        outside the import's transaction)."""
        for statements, outcomes in ((inserts, new), (updates, changed)):
            try:
                send_all(statements)
            except WriteRefusedError as exc:
                raise self._refusal(exc, outcomes) from exc

    def _written(self, written: list[RowOutcome]) -> None:
        """After a batch sent in the background: its many-to-many rows, written on the import's
        thread (through the ORM, in the import's transaction), then ``on_written``."""
        if self.relations:
            self.relations.write_outcomes(written)
        self.on_written(written)

    def _write(self, new: list[RowOutcome], updated: list[RowOutcome]) -> None:
        self._write_rows(new, [o for o in updated if o.changes])
        if self.relations:
            self.relations.write_outcomes([*new, *updated])

    def _write_rows(self, new: list[RowOutcome], updated: list[RowOutcome]) -> None:
        self._insert_rows(new)
        self._update_rows(updated)

    def _insert_rows(self, new: list[RowOutcome]) -> None:
        if new:
            try:
                pks = self.table.insert([o.row for o in new])  # type: ignore[misc]  # built
            except WriteRefusedError as exc:
                raise self._refusal(exc, new) from exc
            for outcome, pk in zip(new, pks, strict=True):
                outcome.pk = pk

    def _update_rows(self, updated: list[RowOutcome]) -> None:
        if updated:
            attname_of = self.shape.attname_of
            changes = [
                (o.pk, {attname_of[name]: o.row[attname_of[name]] for name in o.changes})  # type: ignore[index]
                for o in updated
            ]
            try:
                self.table.update(changes)
            except WriteRefusedError as exc:
                raise self._refusal(exc, updated) from exc

    @staticmethod
    def _refusal(exc: WriteRefusedError, outcomes: list[RowOutcome]) -> WriteRefusedError:
        """Give a refusal the outcome of the row it names, and its batch's."""
        index = exc.row_index
        exc.outcome = outcomes[index] if index is not None and index < len(outcomes) else None
        exc.batch = outcomes
        return exc

    def _call_hook(self, hook: Hook, written: list[RowOutcome]) -> None:
        """Read the written rows back as instances (one query) and hand each to the hook."""
        found = self.model._base_manager.using(self.using).in_bulk([o.pk for o in written])
        for outcome in written:
            outcome.instance = found.get(outcome.pk)
            hook(outcome.instance, outcome.row_number, outcome.action)  # type: ignore[arg-type]

    def finish(self) -> None:
        """Wait for the batch in flight; raise its error."""
        if self.background is not None:
            self.background.wait()

    def close(self) -> None:
        """Let the batch in flight end and release the background thread."""
        if self.background is not None:
            self.background.close()
            self.background = None
