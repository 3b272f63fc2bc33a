"""
Progress, heartbeat and cancel requests of a running job, visible outside its transaction.

One ``ProgressChannel`` serves every task (preview, import, export). It writes the rows done and
total, with a heartbeat and, when the run gives them, its counts so far (the preview's new /
updated / unchanged / invalid rows, shown growing on the job page), at most once per
``DATA_EXCHANGE_PROGRESS_INTERVAL``, and tells the run whether it should stop: the job was
cancelled, or is no longer in the state its task runs in.

The import runs in one transaction, so progress written through the task's own connection would
stay invisible until the end. Inside a transaction the channel writes through a second connection
of its own (autocommit) instead. SQLite allows one writer at a time, so there the import's progress
and cancel flag go through the cache (``DATA_EXCHANGE_CACHE``); the demo runs its worker
in-process, where the local-memory cache is shared. ``read_progress`` and ``percent`` read it back
for the admin and the API, whichever way it was written; ``read_counts``, ``phase`` and
``seconds_left`` tell a person what the task is doing and about how long it still needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

from django.core.cache import caches
from django.db import connection, connections
from django.utils import timezone

from data_exchange_tool.conf import app_settings
from data_exchange_tool.states import ExportState, JobState

if TYPE_CHECKING:
    from data_exchange_tool.models import ExportJob, ImportJob, ImportJobPart

    Job = ImportJob | ExportJob

#: Seconds the cache keeps a job's progress and cancel flag.
CACHE_TIMEOUT = 24 * 3600
#: States whose progress is complete even when nothing was counted.
DONE_STATES = (JobState.IMPORT_SUCCEEDED, ExportState.EXPORT_SUCCEEDED)
#: The job columns that hold each count a run may report.
COUNT_COLUMNS = {
    "total": "total_rows",
    "new": "new_rows",
    "updated": "updated_rows",
    "unchanged": "unchanged_rows",
    "invalid": "invalid_rows",
}
#: States whose task is running (its progress may live in the cache on SQLite).
_RUNNING = (JobState.PREVIEW_IN_PROGRESS, JobState.IMPORT_IN_PROGRESS)


def _cache_key(job_pk: Any, name: str) -> str:
    return f"data_exchange_tool:job:{job_pk}:{name}"


def _uses_cache() -> bool:
    return connection.vendor == "sqlite"


def _cached(job: Job) -> Any:
    if job.state in _RUNNING and _uses_cache():
        return caches[app_settings.CACHE].get(_cache_key(job.pk, "progress"))
    return None


def read_progress(job: Job) -> tuple[int, int]:
    """Return ``(rows done, rows total)`` of a job, the running import's included."""
    cached = _cached(job)
    if cached:
        return cached[0], cached[1]
    return job.progress_done, job.progress_total


def read_counts(job: ImportJob) -> dict[str, int]:
    """Return the job's counts, those a running preview reported so far included."""
    cached = _cached(job)
    if cached and len(cached) > 2 and cached[2]:
        return {**job.counts, **cached[2]}
    return job.counts


def seconds_left(job: Job, now: Any = None) -> int | None:
    """Return about how many seconds the running task still needs, or None when unknown.

    Estimated from the rate so far: the time since the task started, per row done.
    """
    done, total = read_progress(job)
    started = _task_started(job)
    if started is None or not done or total <= done:
        return None
    elapsed = ((now or timezone.now()) - started).total_seconds()
    if elapsed <= 0:
        return None
    return max(1, round(elapsed * (total - done) / done))


def _task_started(job: Job) -> Any:
    if job.state == JobState.PREVIEW_IN_PROGRESS:
        return getattr(job, "preview_started_at", None)
    if job.state == JobState.IMPORT_IN_PROGRESS:
        return getattr(job, "import_started_at", None)
    if job.state == ExportState.EXPORT_IN_PROGRESS:
        return getattr(job, "started_at", None)
    return None


def phase(job: Job) -> str:
    """Return what the job's task is doing, as a person follows it.

    ``queued`` (waiting for a worker), ``reading`` (the task started: the file is opened),
    ``validating`` (a preview checks rows), ``writing`` (an import or export writes rows),
    ``done`` (finished), ``failed`` or ``cancelled``.
    """
    state = job.state
    if state == JobState.CANCELLED:
        return "cancelled"
    if state in (JobState.PREVIEW_FAILED, JobState.IMPORT_FAILED, ExportState.EXPORT_FAILED):
        return "failed"
    if state in (JobState.PREVIEW_SUCCEEDED, *DONE_STATES):
        return "done"
    if state == JobState.CREATED or _task_started(job) is None:
        return "queued"
    done, _total = read_progress(job)
    if not done:
        return "reading"
    return "validating" if state == JobState.PREVIEW_IN_PROGRESS else "writing"


def percent(job: Job) -> int:
    """Return the progress of the job's task, 0 to 100."""
    if job.state == ExportState.EXPORT_SUCCEEDED:
        return 100
    done, total = read_progress(job)
    if not total:
        return 100 if job.state in DONE_STATES else 0
    return min(100, int(done * 100 / total))


def request_cancel(job: ImportJob) -> None:
    """Ask the running import of ``job`` to stop at its next batch."""
    now = timezone.now()
    caches[app_settings.CACHE].set(_cache_key(job.pk, "cancel"), True, timeout=CACHE_TIMEOUT)
    if not _uses_cache():
        type(job)._base_manager.filter(pk=job.pk).update(cancel_requested_at=now)


def cancel_pending(job: Job) -> bool:
    """Return True when someone asked the job's running import to stop and it has not yet.

    On SQLite the request lives only in the cache: the import's transaction holds the database's
    write lock, so ``cancel_requested_at`` cannot be written until the import ends.
    """
    if job.state != JobState.IMPORT_IN_PROGRESS:
        return False
    if getattr(job, "cancel_requested_at", None):  # an import's field
        return True
    return bool(caches[app_settings.CACHE].get(_cache_key(job.pk, "cancel")))


def import_reports_in_cache(job: ImportJob) -> bool:
    """Return True when a running import reported recently through the cache (SQLite)."""
    return (
        _uses_cache() and caches[app_settings.CACHE].get(_cache_key(job.pk, "progress")) is not None
    )


#: A query compiled once per run: ``(alias, (sql, params))``.
Compiled = tuple[str, tuple[str, Any]]


def _compiled(queryset: Any) -> Compiled:
    """Return ``queryset``'s first row's pk as SQL, compiled once (it was compiled again for
    every batch)."""
    query = queryset.values("pk")[:1]
    return query.db, query.query.get_compiler(using=query.db).as_sql()


def _row_exists(compiled: Compiled, through: Any = None) -> bool:
    """Run a compiled query through ``through`` (a connection) or its own alias's; True when
    it finds a row."""
    alias, (sql, params) = compiled
    with (through or connections[alias]).cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


class Sender(Protocol):
    """A thread that runs work on a connection of the run (``imports.writes.Background``)."""

    connection: Any

    def queue(self, work: Callable[[], Any]) -> Future: ...


class ProgressChannel:
    """Report the progress of one job's task at a bounded rate, and read cancel requests."""

    def __init__(self, job: Job) -> None:
        self.job = job
        # concrete_model is None only on an abstract model.
        self.manager = (job._meta.concrete_model or type(job))._base_manager
        # The run stops when the job leaves the state its task runs in, or a cancel is asked.
        self._running: dict[str, Any] = {"pk": job.pk, "state": job.state}
        if any(f.name == "cancel_requested_at" for f in job._meta.concrete_fields):
            self._running["cancel_requested_at__isnull"] = True
        self.interval = float(app_settings.PROGRESS_INTERVAL)
        # Minus infinity, not 0: time.monotonic() may itself be smaller than the interval.
        self._last_write = float("-inf")
        self._side: Any = None
        self._running_query: Compiled | None = None
        #: The reads of the job's row queued on the run's background thread, not yet looked at
        #: (``cancel_requested``).
        self._checks: list[Future] = []

    def report(
        self, done: int, total: int, *, counts: dict[str, int] | None = None, force: bool = False
    ) -> None:
        """Record rows done and total, at most once per ``DATA_EXCHANGE_PROGRESS_INTERVAL``.

        :param counts: the run's counts so far (``{"new": 12, ...}``, the names of
            ``ImportJob.counts``), written to the job's count columns with the progress.
        """
        now = time.monotonic()
        if not force and now - self._last_write < self.interval:
            return
        self._last_write = now
        values = {"progress_done": done, "progress_total": total, "heartbeat_at": timezone.now()}
        for name, count in (counts or {}).items():
            values[COUNT_COLUMNS[name]] = count
        if not connection.in_atomic_block:
            self.manager.filter(pk=self.job.pk).update(**values)
        elif _uses_cache():
            caches[app_settings.CACHE].set(
                _cache_key(self.job.pk, "progress"), (done, total, counts), timeout=CACHE_TIMEOUT
            )
        else:
            self._side_update(values)

    def _side_update(self, values: dict[str, Any]) -> None:
        """Write ``values`` to the job's row through the side connection (autocommit)."""
        ops = connection.ops
        table = ops.quote_name(self.job._meta.db_table)
        columns = ", ".join(f"{ops.quote_name(name)} = %s" for name in values)
        self._side_execute(
            f"UPDATE {table} SET {columns} WHERE id = %s",  # noqa: S608 - names from _meta
            [*values.values(), self.job.pk],
        )

    def cancel_requested(self, on: Sender | None = None) -> bool:
        """Return True when the run should stop: cancelled, or the job left its running state.

        ``on``: the run's background thread, serving the connection the job's row is read
        through. The row is then read there, queued behind the work in flight (a query of this
        thread would wait for that work, holding the pipeline up every batch), and the answer
        is the one a read queued at an earlier batch gave: a stop is seen a batch or two later.
        """
        if caches[app_settings.CACHE].get(_cache_key(self.job.pk, "cancel")):
            return True
        # Under READ COMMITTED each statement sees what other transactions committed.
        if on is None or on.connection.alias != self._running_query_sql()[0]:
            return not self._still_running()
        answered = [check for check in self._checks if check.done()]
        self._checks = [check for check in self._checks if not check.done()]
        # One read a batch, whatever the answers so far (the queries a batch costs stay the
        # same); they pile up no further than the background thread's own waits let them.
        self._checks.append(on.queue(lambda: self._still_running(on.connection)))
        return any(check.result() is False for check in answered)

    def _running_query_sql(self) -> Compiled:
        """Return the query of the job's row in its running state, uncancelled."""
        if self._running_query is None:
            self._running_query = _compiled(self.manager.filter(**self._running))
        return self._running_query

    def _still_running(self, through: Any = None) -> bool:
        """Return True when the job's row is still in its running state, uncancelled (read
        through ``through``, a connection, or the job's own)."""
        return _row_exists(self._running_query_sql(), through)

    def _side_execute(self, sql: str, params: list[Any]) -> None:
        if self._side is None:
            self._side = connections.create_connection(connection.alias)
        with self._side.cursor() as cursor:
            cursor.execute(sql, params)

    def close(self) -> None:
        """Close the side connection and forget the cache entries of the job."""
        if self._side is not None:
            self._side.close()
            self._side = None
        cache = caches[app_settings.CACHE]
        cache.delete_many([_cache_key(self.job.pk, "progress"), _cache_key(self.job.pk, "cancel")])


class PartChannel(ProgressChannel):
    """The channel of one part of a partitioned job: its progress, and the job's as the sum.

    Each report writes the part's rows done and counts to its own row, then the job's progress,
    counts and heartbeat as the sums over the job's parts (one statement): the job page shows one
    job, its parts added up. The run stops when the job is cancelled or leaves its state, or the
    part is no longer running (a sibling part failed).
    """

    def __init__(self, job: ImportJob, part: ImportJobPart) -> None:
        super().__init__(job)
        self.part = part
        self._part_query: Compiled | None = None

    def report(
        self, done: int, total: int, *, counts: dict[str, int] | None = None, force: bool = False
    ) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < self.interval:
            return
        self._last_write = now
        values: dict[str, Any] = {
            "progress_done": done,
            "progress_total": total,
            "heartbeat_at": timezone.now(),
        }
        for name, count in (counts or {}).items():
            values[COUNT_COLUMNS[name]] = count
        type(self.part)._base_manager.filter(pk=self.part.pk).update(**values)
        self._add_up(list(values))

    def _add_up(self, columns: list[str]) -> None:
        ops = connection.ops
        jobs = ops.quote_name(self.job._meta.db_table)
        parts = ops.quote_name(self.part._meta.db_table)
        sums = [c for c in columns if c != "heartbeat_at"]
        assign = ", ".join(f"{ops.quote_name(c)} = s.{ops.quote_name(c)}" for c in sums)
        select = ", ".join(f"sum({ops.quote_name(c)}) AS {ops.quote_name(c)}" for c in sums)
        sql = (
            f"UPDATE {jobs} SET {assign}, heartbeat_at = %s FROM (SELECT {select}"  # noqa: S608
            f" FROM {parts} WHERE job_id = %s AND phase = %s) s WHERE {jobs}.id = %s"
        )
        params: list[Any] = [timezone.now(), self.job.pk, self.part.phase, self.job.pk]
        if connection.in_atomic_block:
            self._side_execute(sql, params)
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

    def cancel_requested(self, on: Sender | None = None) -> bool:
        """Read in line, before each batch is handled, whatever ``on``: a part stages its rows
        in tables its job's end drops, so it must stop at the batch after that end."""
        return super().cancel_requested()

    def _still_running(self, through: Any = None) -> bool:
        """The job's row, then the part's: still running (a sibling part that fails stops it)."""
        if not super()._still_running(through):
            return False
        if self._part_query is None:
            manager = type(self.part)._base_manager
            self._part_query = _compiled(manager.filter(pk=self.part.pk, state="running"))
        return _row_exists(self._part_query, through)
