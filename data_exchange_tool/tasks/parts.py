"""
The tasks of a partitioned preview or import: the cut, the parts, and the step that ends them.

``partition`` cuts a claimed job's file into parts (``imports.parts``, ``imports.pipeline``) and
sends a task for each; from then on the job lives through its parts (``liveness``). A part's task
claims its part under the part's row lock (``claim_part``), validates its range, and records how
it ended; the last part to end sends the task that merges (preview) or applies (import) what the
parts staged (``imports.staging``), in one transaction. An import's apply is also sent ahead of
its parts: it runs the parts no worker has taken on a thread of its own (``PartRunner``) and
applies each part as it ends; the one the last part sends finds it working and does nothing. A
part that fails stops the others and fails the job, or, for a preview's part that cannot read
its range, runs the preview again in one task (``jobs.preview_job``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from functools import partial
from typing import TYPE_CHECKING, Any

from celery import current_app
from django import db
from django.db import transaction
from django.utils import timezone

from data_exchange_tool import leases, liveness, recording
from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import FileFormatError, ImportAbortedError, ImportCancelledError
from data_exchange_tool.imports import staging
from data_exchange_tool.imports.pipeline import (
    PartImportRun,
    PartPreviewRun,
    import_partitionable,
    may_partition,
    plan_parts,
)
from data_exchange_tool.imports.staging import ImportApply, PreviewMerge
from data_exchange_tool.messages import RERUN_HINT, sentence
from data_exchange_tool.models import (
    ImportJob,
    ImportJobPart,
    ImportJobPreviewRow,
    ImportJobRowError,
    PartState,
    Phase,
    RunResult,
)
from data_exchange_tool.progress import COUNT_COLUMNS, PartChannel, ProgressChannel
from data_exchange_tool.states import JobState
from data_exchange_tool.tasks.claims import claim, job_task

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)

#: The state a job is in while its parts of each phase run.
PHASE_STATES = {
    Phase.PREVIEW: JobState.PREVIEW_IN_PROGRESS,
    Phase.IMPORT: JobState.IMPORT_IN_PROGRESS,
}
#: The name of ``jobs.preview_job``, which a preview's part sends to run the preview in one task:
#: ``jobs`` sends the parts' tasks (``partition``), so this room finds that task by its name.
PREVIEW_JOB = "data_exchange_tool.preview_job"


# --- cutting -------------------------------------------------------------------------------


def partition(job: ImportJob, phase: str) -> bool:
    """Cut the claimed job's file into parts and send their tasks; False to run in one task.

    The parts, the staging table of keys and the facts read from the file's head are committed
    together; the part tasks are sent once they are. The job's lease is given back when the
    task returns: from then on the job lives through its parts (``liveness``). An import reads
    the file as its preview did, and is cut only when ``COPY`` writes all it writes.
    """
    if not may_partition(job) or (phase == Phase.IMPORT and not import_partitionable(job)):
        return False
    try:
        plan = plan_parts(job, phase)
    except FileFormatError:
        return False  # the single run says what is wrong, in its words
    if plan is None:
        return False
    ranges = plan.ranges
    with transaction.atomic():
        current = recording.locked(job)
        if current is None or current.state != PHASE_STATES[Phase(phase)]:
            staging.delete_source(plan.source)
            return True
        if current.attempts != job.attempts:
            staging.delete_source(plan.source)
            return True
        staging.drop_tables(job.pk)
        staging.create(job.pk)
        parts = ImportJobPart.objects.bulk_create(
            ImportJobPart(
                job_id=job.pk,
                phase=phase,
                index=index,
                count=len(ranges),
                start=start,
                end=end,
                source=plan.source,
                source_size=plan.source_size,
                task_id=str(uuid.uuid4()),
            )
            for index, (start, end) in enumerate(ranges)
        )
        ImportJob._base_manager.filter(pk=job.pk).update(
            file_encoding=job.file_encoding,
            file_delimiter=job.file_delimiter,
            file_headers=job.file_headers,
        )
        # The lead gives the job's lease back under the row lock, before the parts can start:
        # whoever judges the job under that lock sees either the lease or the parts.
        leases.release(current)
        transaction.on_commit(partial(_send_parts, parts))
    logger.info("data_exchange_tool: %s of job %s cut into %s parts", phase, job.pk, len(ranges))
    return True


def part_tasks(phase: str) -> tuple[Task, Task, str]:
    """Return the task of a part, the task that ends the parts, and their queue."""
    if phase == Phase.PREVIEW:
        return preview_part, finish_preview, app_settings.PREVIEW_QUEUE
    return import_part, finish_import, app_settings.IMPORT_QUEUE


def _send_parts(parts: list[ImportJobPart]) -> None:
    if parts and parts[0].phase == Phase.IMPORT:
        # Ahead of the parts: the first free worker opens the apply's transaction, runs the
        # parts no worker has taken on a thread of its own and applies each part as it ends
        # (``finish_import``).
        finish_import.apply_async((parts[0].job_id,), queue=app_settings.IMPORT_QUEUE)
    for part in parts:
        task, _finish, queue = part_tasks(part.phase)
        task.apply_async((part.pk,), queue=queue, task_id=part.task_id)


# --- a part's life -------------------------------------------------------------------------


def claim_part(part_pk: Any) -> tuple[ImportJob, ImportJobPart] | None:
    """Start a part, or again after its earlier task died; None when there is nothing to do.

    A part that died ``MAX_ATTEMPTS`` times fails its job, saying so.
    """
    try:
        with transaction.atomic():
            part = ImportJobPart.objects.select_for_update().filter(pk=part_pk).first()
            if part is None or part.state not in (PartState.PENDING, PartState.RUNNING):
                return None
            job = ImportJob.objects.filter(pk=part.job_id).first()
            if job is None or job.state != PHASE_STATES[Phase(part.phase)]:
                return None
            if not liveness.take_over_part(part):
                return None
            if part.state == PartState.RUNNING:
                if part.attempts >= int(app_settings.MAX_ATTEMPTS):
                    message = liveness.GAVE_UP_MESSAGES[job.state].format(attempts=part.attempts)
                    transaction.on_commit(partial(_give_up, job, part, message))
                    return None
                errors = ImportJobRowError.objects.filter(job=job, phase=part.phase)
                errors.filter(part=part.index).delete()
                ImportJobPreviewRow.objects.filter(job=job, part=part.index).delete()
                staging.delete_part(job.pk, part.index)
            part.state = PartState.RUNNING
            part.attempts += 1
            part.heartbeat_at = timezone.now()
            part.save()
    except BaseException:
        if "part" in locals() and part is not None:
            leases.release_or_disconnect(part)
        raise
    return job, part


def _give_up(job: ImportJob, part: ImportJobPart, message: str) -> None:
    leases.release_or_disconnect(part)
    _part_failed(job, part, message)


def _end_part(part: ImportJobPart, state: str, **values: Any) -> bool:
    """Record the part's end under its row lock, unless it moved on; return True if recorded."""
    current = ImportJobPart.objects.select_for_update().filter(pk=part.pk).first()
    if current is None or current.state != PartState.RUNNING or current.attempts != part.attempts:
        return False
    ImportJobPart.objects.filter(pk=part.pk).update(state=state, **values)
    # Once the end is committed: given back before, the lease let others see the part still
    # running with no session holding it, dead (the apply that waits for it gave up, the
    # reaper would fail its job).
    transaction.on_commit(partial(leases.release, part))
    return True


def _part_done(job: ImportJob, part: ImportJobPart, result: RunResult, records: int) -> None:
    """Record a finished part; the last one sends the merge (decided under the job's lock)."""
    with transaction.atomic():
        current = recording.locked(job)
        counts = {COUNT_COLUMNS[name]: count for name, count in result.as_counts().items()}
        if not _end_part(part, PartState.DONE, records=records, **counts):
            return
        if current is None or current.state != PHASE_STATES[Phase(part.phase)]:
            return
        parts = ImportJobPart.objects.filter(job=job, phase=part.phase)
        if not parts.exclude(state=PartState.DONE).exists():
            _task, finish, queue = part_tasks(part.phase)
            transaction.on_commit(partial(finish.apply_async, (job.pk,), queue=queue))
        else:  # e.g. a part the apply's thread ran (no message of its own) in a worker killed
            transaction.on_commit(partial(_resend_dead_parts, job.pk, part.phase))


def _resend_dead_parts(job_pk: Any, phase: str) -> None:
    """Send again the tasks of the running job's parts of ``phase`` whose task died.

    A part that ends calls it, and an apply delivered again (RabbitMQ gives a killed worker's
    message back at once): a part the apply's runner ran has no message of its own left.
    """
    parts = ImportJobPart.objects.filter(
        job_id=job_pk, phase=phase, state=PartState.RUNNING, job__state=PHASE_STATES[Phase(phase)]
    )
    resend_parts([part for part in parts if liveness.part_death(part)])


def resend_parts(parts: list[ImportJobPart]) -> None:
    """Send the tasks of ``parts`` again, each under a new task id (a second delivery of a
    part's task does nothing: its claim fails)."""
    for part in parts:
        task, _finish, queue = part_tasks(part.phase)
        task_id = str(uuid.uuid4())
        ImportJobPart.objects.filter(pk=part.pk).update(task_id=task_id)
        task.apply_async((part.pk,), queue=queue, task_id=task_id)
        logger.warning(
            "data_exchange_tool: part %s of job %s is sent again", part.index, part.job_id
        )


def _part_failed(
    job: ImportJob, part: ImportJobPart, message: str, *, single_task: bool = False
) -> None:
    """A part failed: stop the others; fail the job, or run it again in one task."""
    with transaction.atomic():
        current = recording.locked(job)
        if current is None or current.state != PHASE_STATES[Phase(part.phase)]:
            return
        ImportJobPart.objects.filter(job=job, phase=part.phase).exclude(
            state=PartState.DONE
        ).update(state=PartState.FAILED, message=message[:1000])
        transaction.on_commit(partial(leases.release, part))  # as ``_end_part`` does
        if part.phase == Phase.IMPORT:
            where = f"Part {part.index + 1} of {part.count} of the file: "
            recording.fail_import(job, f"{where}{sentence(message)} Nothing was written.")
            return
        if single_task:
            options = {**(current.options or {}), "single_task": True}
            ImportJob._base_manager.filter(pk=job.pk).update(options=options)
            preview_job = current_app.tasks[PREVIEW_JOB]
            transaction.on_commit(
                partial(preview_job.apply_async, (job.pk,), queue=app_settings.PREVIEW_QUEUE)
            )
            return
        where = f"Part {part.index + 1} of {part.count} of the file: "
        recording.end_preview(job, message=where + message)


def _claim_finish(job_pk: Any, phase: Phase, *, early: bool = False) -> ImportJob | None:
    """Start the step that ends the parts of ``phase``: the job is still in that phase and
    every one of its parts is done, or, ``early``, done, running (its task alive) or waiting
    for a worker (the apply runs it if no worker has). Return the job, holding its lease, or
    None."""

    def begin(job: ImportJob) -> bool:
        if job.state != PHASE_STATES[phase]:
            return False
        parts = list(ImportJobPart.objects.filter(job=job, phase=phase))
        if not parts:
            return False
        for part in parts:
            if part.state != PartState.DONE and not (early and _running_or_waiting(part)):
                return False
        return leases.hold(job)

    return claim(ImportJob, job_pk, begin)


def _drop_staging(job_pk: Any) -> None:
    """Drop the ended job's staging, then what other jobs' dead workers left behind."""
    staging.drop_all(job_pk)
    try:
        liveness.sweep_staging()
    except Exception:  # the job's end is recorded: a sweep that fails waits for the next one
        logger.warning("data_exchange_tool: the staging left behind is not swept", exc_info=True)


# --- partitioned preview -------------------------------------------------------------------


@job_task("data_exchange_tool.preview_part")
def preview_part(self: Task, part_pk: Any) -> None:
    """Validate one part of a partitioned preview; the last part to end sends the merge."""
    claimed = claim_part(part_pk)
    if claimed is None:
        return
    job, part = claimed
    channel = PartChannel(job, part)
    run = PartPreviewRun(job, part, channel)
    try:
        result = run.execute()
    except ImportCancelledError:
        with transaction.atomic():
            _end_part(part, PartState.FAILED, message="stopped")
    except FileFormatError as exc:
        # The single run reads the file again and says what is wrong with the file's rows.
        logger.warning("data_exchange_tool: job %s runs in one task: %s", job.pk, exc)
        _part_failed(job, part, str(exc), single_task=True)
    except Exception as exc:
        logger.exception("data_exchange_tool: part %s of job %s failed", part.index, job.pk)
        _part_failed(job, part, f"The preview failed unexpectedly: {exc}")
    else:
        _part_done(job, part, result, run.records)
    finally:
        channel.close()
        leases.release_or_disconnect(part)


@job_task("data_exchange_tool.finish_preview")
def finish_preview(self: Task, job_pk: Any) -> None:
    """Merge the parts of a partitioned preview and record it (one transaction)."""
    job = _claim_finish(job_pk, Phase.PREVIEW)
    if job is None:
        return
    try:
        with transaction.atomic():
            result = PreviewMerge(job).execute()
            recording.end_preview(job, result=result)
    except Exception as exc:
        logger.exception("data_exchange_tool: merge of job %s failed", job_pk)
        recording.end_preview(job, message=f"The preview failed unexpectedly: {exc}")
    finally:
        _drop_staging(job.pk)
        leases.release_or_disconnect(job)


# --- partitioned import --------------------------------------------------------------------


@job_task("data_exchange_tool.import_part")
def import_part(self: Task, part_pk: Any) -> None:
    """Validate one part of a partitioned import and stage its rows; the last part to end
    sends the apply."""
    run_import_part(part_pk)


def run_import_part(part_pk: Any) -> None:
    """Run a part of an import (its task, or the apply's ``PartRunner``); nothing when it is
    done, runs elsewhere, or its job moved on."""
    claimed = claim_part(part_pk)
    if claimed is None:
        return
    job, part = claimed
    channel = PartChannel(job, part)
    run = PartImportRun(job, part, channel)
    try:
        result = run.execute()
    except ImportCancelledError:
        with transaction.atomic():  # a running import is asked to stop: its parts record it
            recording.cancel_running_import(job)  # the job's row locked first, as before
            _end_part(part, PartState.FAILED, message="stopped")
    except (FileFormatError, ImportAbortedError) as exc:
        _part_failed(job, part, str(exc))
    except Exception as exc:
        logger.exception("data_exchange_tool: part %s of job %s failed", part.index, job.pk)
        _part_failed(job, part, f"The import failed unexpectedly: {exc}")
    else:
        _part_done(job, part, result, run.records)
    finally:
        channel.close()
        leases.release_or_disconnect(part)


#: Seconds between two looks at the parts while the apply waits for the last ones.
APPLY_POLL_SECONDS = 0.1


class _PartsNotRunning(Exception):
    """The apply stops waiting: a part it waits for is not running (its worker died, or it
    waits for a worker and the apply's ``PartRunner`` has stopped) or failed."""


class PartRunner:
    """The apply's own worker: a thread of the apply's process that runs the parts of its
    import no worker has taken, one by one, while the apply's thread waits for parts to end and
    applies them.

    The apply's task is sent ahead of the parts and its thread mostly waits for PostgreSQL (the
    ``INSERT ... SELECT`` of each part), so the process validates parts meanwhile instead of
    idling: with one worker the parts and the apply overlap, with N the apply's worker is not
    lost to the parts. A part runs as its own task would (``run_import_part``: claimed under its
    row lock with its own lease, validated against the database as it is, staged), on the
    thread's own connection, outside the apply's transaction. The highest index first: workers
    take the queue's parts from the lowest. A part a worker took first is skipped (its claim
    fails); the part's task, delivered later, finds it done and does nothing.
    """

    def __init__(self, job_pk: Any) -> None:
        self.job_pk = job_pk
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"dxt-parts-{job_pk}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        """Return True while the runner may still take a part."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Take no more parts and wait for the one running to end (a cancelled or failed job
        stops it at its next batch). Called once the apply's transaction has ended: the part
        ends under the job's row lock."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join()

    def _run(self) -> None:
        tried: set[Any] = set()
        try:
            while not self._stop.is_set():
                waiting = (
                    ImportJobPart.objects.filter(
                        job_id=self.job_pk, phase=Phase.IMPORT, state=PartState.PENDING
                    )
                    .exclude(pk__in=tried)
                    .order_by("-index")
                    .values_list("pk", flat=True)
                )
                pk = waiting.first()
                if pk is None:
                    return
                tried.add(pk)
                run_import_part(pk)
        except Exception:  # the apply goes on waiting for the parts' own tasks
            logger.exception("data_exchange_tool: the apply of job %s runs no part", self.job_pk)
        finally:
            db.connections.close_all()  # this thread's own


@job_task("data_exchange_tool.finish_import")
def finish_import(self: Task, job_pk: Any) -> None:
    """Apply the staged rows of a partitioned import in one transaction, and record it.

    Sent ahead of the parts: the first free worker takes it, runs on a thread of its own the
    parts no worker has taken (``PartRunner``) and applies each part as it ends while the others
    still run (``_wait``). When a part it waits for is not running (its worker died), it rolls
    back and ends, changing nothing: the last part to end sends it again, as it does for every
    import.
    """
    job = _claim_finish(job_pk, Phase.IMPORT, early=True)
    if job is None:
        _resend_dead_parts(job_pk, Phase.IMPORT)
        return
    channel = ProgressChannel(job)
    ended = True
    try:
        ended = _apply(job, channel)
        if not ended:
            leases.release(job)
            # The last part may have ended meanwhile: the apply it sent found this task
            # holding the job's lease and did nothing. Whoever takes the lease now runs it.
            again = _claim_finish(job.pk, Phase.IMPORT)
            if again is not None:
                ended = _apply(again, channel)
    finally:
        channel.close()
        if ended:  # not while the parts run on
            _drop_staging(job.pk)
        leases.release_or_disconnect(job)


def _apply(job: ImportJob, channel: ProgressChannel) -> bool:
    """Apply the staged rows and record how the import ended; return False, having changed
    nothing, when a part it waited for is not running (``_PartsNotRunning``)."""
    apply = ImportApply(job)
    runner = PartRunner(job.pk)
    all_done = False
    try:
        runner.start()
        with transaction.atomic():
            _wait(job, channel, apply, runner)
            all_done = True
            result = apply.execute()
            job.after_import(result)
            if channel.cancel_requested():
                raise ImportCancelledError(job.pk)
            recording.succeed_import(job, result)
    except _PartsNotRunning:
        return False
    except ImportCancelledError:
        _renumber(apply, all_done)
        recording.cancel_running_import(job)
    except ImportAbortedError as exc:
        _renumber(apply, all_done)
        recording.fail_import(job, str(exc), apply.errors)
    except Exception as exc:
        logger.exception("data_exchange_tool: the apply of job %s failed", job.pk)
        _renumber(apply, all_done)
        message = f"The import failed and nothing was written: {sentence(exc)} {RERUN_HINT}"
        recording.fail_import(job, message)
    finally:
        runner.stop()
    return True


def _wait(job: ImportJob, channel: ProgressChannel, apply: ImportApply, runner: PartRunner) -> None:
    """Inside the apply's transaction: apply each part as it ends, until every part is done.

    Raises ``ImportCancelledError`` on a cancel (or when the job left its state: a part failed
    it), and ``_PartsNotRunning`` when a part that is not done is not running either, and is
    not waiting for the runner to take it.
    """
    while True:
        if channel.cancel_requested():
            raise ImportCancelledError(job.pk)
        parts = list(ImportJobPart.objects.filter(job=job, phase=Phase.IMPORT).order_by("index"))
        waiting = [p for p in parts if p.state != PartState.DONE]
        if not waiting:
            return
        # A part waiting for a worker is fine while the runner may still take it.
        if not all(map(_running_or_waiting if runner.alive() else _running, waiting)):
            raise _PartsNotRunning
        ready = [p for p in parts if p.state == PartState.DONE and p.index not in apply.applied]
        if not (ready and apply.apply_early(ready[0])):
            time.sleep(APPLY_POLL_SECONDS)


def _running(part: ImportJobPart) -> bool:
    """Return True when a part's task runs it (its worker alive)."""
    return part.state == PartState.RUNNING and not liveness.part_death(part)


def _running_or_waiting(part: ImportJobPart) -> bool:
    """Return True when a part runs (its worker alive) or waits for a worker."""
    return part.state == PartState.PENDING or _running(part)


def _renumber(apply: ImportApply, all_done: bool) -> None:
    """After the apply's rollback: give the parts' row errors the file's numbers again."""
    if not all_done:
        return  # the parts' offsets are not all known
    try:
        apply.renumber()
    except Exception:
        logger.exception("data_exchange_tool: job %s: row errors not renumbered", apply.job.pk)
