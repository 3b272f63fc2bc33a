"""
The Celery tasks: preview, import, export, and the reaper of dead jobs.

A task takes the job's pk only (``actions`` sends it once the transaction commits). It fetches the
job and claims it under a row lock, returning without changing anything when the job is not in the
state it expects (so the tasks are idempotent and acknowledged late); then it runs the pipeline
(``imports.pipeline``, ``exports.pipeline``) and records how it ended (``recording``). Nothing else
happens here: what follows a preview (an automatic confirm) is a reaction in ``actions``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import django_fsm as fsm
from celery import shared_task
from celery.signals import worker_ready
from django import db
from django.db import transaction
from django.utils import timezone

from data_exchange_tool import leases, liveness, recording
from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import (
    DataExchangeError,
    ExportCancelledError,
    FileFormatError,
    ImportAbortedError,
    ImportCancelledError,
)
from data_exchange_tool.exports.pipeline import ExportRun
from data_exchange_tool.imports import staging
from data_exchange_tool.imports.pipeline import (
    ImportRun,
    PartImportRun,
    PartPreviewRun,
    PreviewRun,
    import_partitionable,
    may_partition,
    plan_parts,
)
from data_exchange_tool.imports.staging import ImportApply, PreviewMerge
from data_exchange_tool.models import (
    ExportJob,
    ImportJob,
    ImportJobPart,
    ImportJobPreviewRow,
    ImportJobRowError,
    PartState,
    Phase,
    RunResult,
)
from data_exchange_tool.progress import COUNT_COLUMNS, PartChannel, ProgressChannel
from data_exchange_tool.states import ExportState, JobState
from data_exchange_tool.storage import delete_file_on_commit, get_storage

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)
Job = TypeVar("Job", ImportJob, ExportJob)


def routing_key(task: Task) -> str:
    """Return the routing key (queue) the running task was delivered with ("" in-process)."""
    info = task.request.delivery_info or {}
    return str(info.get("routing_key") or "")


def _claimed(job_pk: Any, model: type[Any]) -> Any:
    return model.objects.select_for_update().filter(pk=job_pk).first()


def _claim(model: type[Job], job_pk: Any, begin: Callable[[Job], bool]) -> Job | None:
    """Read the job under its row lock and let ``begin`` start it; return it, or None.

    ``begin`` returns False when the job is not waiting for this task (it is in another state,
    or a live task works on it); it takes the job's lease (``liveness.take_over``) when it starts
    it. A claim that fails after that gives the lease back.
    """
    job = None
    try:
        with transaction.atomic():
            job = _claimed(job_pk, model)
            if job is None or not begin(job):
                return None
    except BaseException:
        if job is not None:
            leases.release_or_disconnect(job)
        raise
    return job


def _resume(job: Job, queue_field: str, queue: str) -> bool:
    """For a job whose earlier attempt started: True when this task may start it again.

    A live earlier attempt is left alone (False). A dead one is started again, unless it died
    ``MAX_ATTEMPTS`` times already: then the job fails with the reason and nothing runs.
    """
    if not liveness.take_over(job, earlier_attempt=True):
        return False
    if liveness.may_restart(job):
        logger.warning(
            "data_exchange_tool: %s #%s starts again (attempt %s): its last task died",
            job._meta.label,
            job.pk,
            job.attempts + 1,
        )
        setattr(job, queue_field, queue)
        return True
    message = liveness.GAVE_UP_MESSAGES[job.state].format(attempts=job.attempts)
    if isinstance(job, ExportJob):
        recording.end_export(job, message=message)
    elif isinstance(job, ImportJob) and job.state == JobState.PREVIEW_IN_PROGRESS:
        recording.end_preview(job, message=message)
    elif isinstance(job, ImportJob):
        recording.fail_import(job, message)
    leases.release(job)  # given back with the end already; this is for certainty
    logger.error("data_exchange_tool: %s #%s failed: %s", job._meta.label, job.pk, message)
    return False


def _start_fresh(job: Job) -> bool:
    """Take the lease of a job no task has started yet; False (and a warning) if held."""
    if liveness.take_over(job, earlier_attempt=False):
        return True
    logger.warning(
        "data_exchange_tool: %s #%s is held by another session; this delivery does nothing",
        job._meta.label,
        job.pk,
    )
    return False


# --- preview -------------------------------------------------------------------------------


@shared_task(
    bind=True,
    name="data_exchange_tool.preview_job",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def preview_job(self: Task, job_pk: Any) -> None:
    """Validate every row of the job's file and record what the import would do.

    A file of more rows than the job type's ``get_part_rows()`` is cut into parts instead
    (``partition_preview``): their tasks validate them, and the last to end sends the merge.
    """
    job = claim_preview(job_pk, routing_key(self))
    if job is None:
        return
    try:
        if partition(job, Phase.PREVIEW):
            leases.release_or_disconnect(job)  # given back already; this is for certainty
            return
    except BaseException:
        leases.release_or_disconnect(job)
        raise
    channel = ProgressChannel(job)
    try:
        result = PreviewRun(job, channel).execute()
    except ImportCancelledError:
        return
    except FileFormatError as exc:
        recording.end_preview(job, message=str(exc))
    except Exception as exc:
        logger.exception("data_exchange_tool: preview of job %s failed", job_pk)
        recording.end_preview(job, message=f"The preview failed unexpectedly: {exc}")
    else:
        recording.end_preview(job, result=result)
    finally:
        channel.close()
        leases.release_or_disconnect(job)


def claim_preview(job_pk: Any, queue: str) -> ImportJob | None:
    """Start the preview of a CREATED job, or again after its earlier attempt died.

    Return None, changing nothing, when the job is in another state or a live task previews it.
    """

    def begin(job: ImportJob) -> bool:
        if job.state == JobState.PREVIEW_IN_PROGRESS:
            if not _resume(job, "preview_queue", queue):
                return False
            job.restart_preview()
        elif fsm.can_proceed(job.start_preview) and _start_fresh(job):
            job.start_preview()
            job.preview_queue = queue
        else:
            return False
        job.save()
        ImportJobRowError.objects.filter(job=job).delete()
        ImportJobPreviewRow.objects.filter(job=job).delete()
        staging.drop_all(job.pk)
        ImportJobPart.objects.filter(job=job).delete()
        return True

    return _claim(ImportJob, job_pk, begin)


# --- partitioned preview -------------------------------------------------------------------


#: The state a job is in while its parts of each phase run.
PHASE_STATES = {
    Phase.PREVIEW: JobState.PREVIEW_IN_PROGRESS,
    Phase.IMPORT: JobState.IMPORT_IN_PROGRESS,
}


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


def _part_task(phase: str) -> tuple[Task, Task, str]:
    """Return the task of a part, the task that ends the parts, and their queue."""
    if phase == Phase.PREVIEW:
        return preview_part, finish_preview, app_settings.PREVIEW_QUEUE
    return import_part, finish_import, app_settings.IMPORT_QUEUE


def _send_parts(parts: list[ImportJobPart]) -> None:
    for part in parts:
        task, _finish, queue = _part_task(part.phase)
        task.apply_async((part.pk,), queue=queue, task_id=part.task_id)


@shared_task(
    bind=True,
    name="data_exchange_tool.preview_part",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
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
    leases.release(part)
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
            _task, finish, queue = _part_task(part.phase)
            transaction.on_commit(partial(finish.apply_async, (job.pk,), queue=queue))


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
        leases.release(part)
        if part.phase == Phase.IMPORT:
            where = f"Part {part.index + 1} of {part.count} of the file: "
            recording.fail_import(job, f"{where}{_sentence(message)} Nothing was written.")
            return
        if single_task:
            options = {**(current.options or {}), "single_task": True}
            ImportJob._base_manager.filter(pk=job.pk).update(options=options)
            transaction.on_commit(
                partial(preview_job.apply_async, (job.pk,), queue=app_settings.PREVIEW_QUEUE)
            )
            return
        where = f"Part {part.index + 1} of {part.count} of the file: "
        recording.end_preview(job, message=where + message)


@shared_task(
    bind=True,
    name="data_exchange_tool.finish_preview",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def finish_preview(self: Task, job_pk: Any) -> None:
    """Merge the parts of a partitioned preview and record it (one transaction)."""

    def begin(job: ImportJob) -> bool:
        if job.state != JobState.PREVIEW_IN_PROGRESS:
            return False
        parts = ImportJobPart.objects.filter(job=job, phase=Phase.PREVIEW)
        if not parts.exists() or parts.exclude(state=PartState.DONE).exists():
            return False
        return leases.hold(job)

    job = _claim(ImportJob, job_pk, begin)
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
        staging.drop_all(job.pk)
        leases.release_or_disconnect(job)


# --- partitioned import --------------------------------------------------------------------


@shared_task(
    bind=True,
    name="data_exchange_tool.import_part",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def import_part(self: Task, part_pk: Any) -> None:
    """Validate one part of a partitioned import and stage its rows; the last part to end
    sends the apply."""
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
            current = recording.locked(job)
            _end_part(part, PartState.FAILED, message="stopped")
            if current is not None and current.state == JobState.IMPORT_IN_PROGRESS:
                recording.cancel(current)
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


@shared_task(
    bind=True,
    name="data_exchange_tool.finish_import",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def finish_import(self: Task, job_pk: Any) -> None:
    """Apply the staged rows of a partitioned import in one transaction, and record it."""

    def begin(job: ImportJob) -> bool:
        if job.state != JobState.IMPORT_IN_PROGRESS:
            return False
        parts = ImportJobPart.objects.filter(job=job, phase=Phase.IMPORT)
        if not parts.exists() or parts.exclude(state=PartState.DONE).exists():
            return False
        return leases.hold(job)

    job = _claim(ImportJob, job_pk, begin)
    if job is None:
        return
    channel = ProgressChannel(job)
    try:
        _apply(job, channel)
    finally:
        channel.close()
        staging.drop_all(job.pk)
        leases.release_or_disconnect(job)


def _apply(job: ImportJob, channel: ProgressChannel) -> None:
    apply = ImportApply(job)
    apply.renumber()  # committed: the parts' row errors keep the file's numbers whatever happens
    try:
        with transaction.atomic():
            result = apply.execute()
            job.after_import(result)
            if channel.cancel_requested():
                raise ImportCancelledError(job.pk)
            recording.succeed_import(job, result)
    except ImportCancelledError:
        with transaction.atomic():
            current = recording.locked(job)
            if current is not None and current.state == JobState.IMPORT_IN_PROGRESS:
                recording.cancel(current)
    except ImportAbortedError as exc:
        recording.fail_import(job, str(exc), apply.errors)
    except Exception as exc:
        logger.exception("data_exchange_tool: the apply of job %s failed", job.pk)
        message = f"The import failed and nothing was written: {_sentence(exc)} {RERUN_HINT}"
        recording.fail_import(job, message)


# --- import --------------------------------------------------------------------------------

#: What a person can do after a failed import: nothing was written and the file is still there.
RERUN_HINT = "Run the preview again (with a corrected file if needed), then confirm."


def _sentence(text: Any) -> str:
    text = str(text).strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


@shared_task(
    bind=True,
    name="data_exchange_tool.import_job",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def import_job(self: Task, job_pk: Any) -> None:
    """Write the job's rows in one transaction, in batches."""
    job = claim_import(job_pk, routing_key(self))
    if job is None:
        return
    try:
        if partition(job, Phase.IMPORT):
            leases.release_or_disconnect(job)  # given back already; this is for certainty
            return
    except BaseException:
        leases.release_or_disconnect(job)
        raise
    channel = ProgressChannel(job)
    try:
        _import(job, channel)
    finally:
        channel.close()
        leases.release_or_disconnect(job)


def _import(job: ImportJob, channel: ProgressChannel) -> None:
    run = ImportRun(job, channel)
    committed = False
    try:
        with transaction.atomic():
            result = run.execute()
            job.after_import(result)
            if channel.cancel_requested():
                raise ImportCancelledError(job.pk)
            recording.succeed_import(job, result)
        committed = True
    except ImportCancelledError:
        with transaction.atomic():
            current = recording.locked(job)
            if current is not None and current.state == JobState.IMPORT_IN_PROGRESS:
                recording.cancel(current)
    except ImportAbortedError as exc:
        recording.fail_import(job, str(exc), run.abort_errors)
    except FileFormatError as exc:
        recording.fail_import(job, f"{_sentence(exc)} Nothing was written. {RERUN_HINT}")
    except Exception as exc:
        logger.exception("data_exchange_tool: import of job %s failed", job.pk)
        message = f"The import failed and nothing was written: {_sentence(exc)} {RERUN_HINT}"
        recording.fail_import(job, message)
    finally:
        run.close(committed)


def claim_import(job_pk: Any, queue: str) -> ImportJob | None:
    """Start a confirmed job's import, or again after its earlier attempt died.

    Return None, changing nothing, when the job is not waiting for an import or a live task
    imports it. An earlier attempt left nothing behind: the import is one transaction.
    """

    def begin(job: ImportJob) -> bool:
        if job.state != JobState.IMPORT_IN_PROGRESS:
            return False
        if job.import_started_at is not None:
            if not _resume(job, "import_queue", queue):
                return False
        elif _start_fresh(job):
            job.import_queue = queue
        else:
            return False
        job.begin_import()
        job.save()
        ImportJobRowError.objects.filter(job=job, phase=Phase.IMPORT).delete()
        return True

    return _claim(ImportJob, job_pk, begin)


# --- export --------------------------------------------------------------------------------


@shared_task(
    bind=True,
    name="data_exchange_tool.export_job",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def export_job(self: Task, job_pk: Any) -> None:
    """Write the export's rows to a file in the job storage."""
    job = claim_export(job_pk, routing_key(self))
    if job is None:
        return
    channel = ProgressChannel(job)
    try:
        _export(job, channel)
    finally:
        channel.close()
        leases.release_or_disconnect(job)


def _export(job: ExportJob, channel: ProgressChannel) -> None:
    try:
        result = ExportRun(job, channel).execute()
    except ExportCancelledError:
        logger.info("data_exchange_tool: export %s stopped: it was cancelled", job.pk)
    except DataExchangeError as exc:
        recording.end_export(job, message=str(exc))
    except Exception as exc:
        logger.exception("data_exchange_tool: export %s failed", job.pk)
        recording.end_export(job, message=f"The export failed unexpectedly: {exc}")
    else:
        if recording.end_export(job, result=result) is None:
            # Cancelled meanwhile: the file is garbage, deleted whatever DELETE_FILES says.
            with transaction.atomic():
                delete_file_on_commit(get_storage(), result.name, always=True)
    finally:
        channel.close()


def claim_export(job_pk: Any, queue: str) -> ExportJob | None:
    """Mark the export as running, or again after its earlier attempt died; else return None.

    Starting over is harmless: an export only writes a new file.
    """

    def begin(job: ExportJob) -> bool:
        if job.state == ExportState.EXPORT_IN_PROGRESS:
            if not _resume(job, "queue", queue):
                return False
            job.restart_export()
        elif fsm.can_proceed(job.start_export) and _start_fresh(job):
            job.start_export()
            job.queue = queue
        else:
            return False
        job.save()
        return True

    return _claim(ExportJob, job_pk, begin)


# --- housekeeping --------------------------------------------------------------------------


@shared_task(name="data_exchange_tool.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs() -> dict[str, int]:
    """Fail the previews, imports and exports whose task died.

    Schedule it with celery beat (or run ``manage.py reap_stale_jobs`` from cron) for the jobs no
    redelivery reaches; confirming a job reaps its target's imports by itself.
    """
    return liveness.reap_stale_jobs()


def restart_dead_jobs() -> dict[str, int]:
    """Send again the task of every running job whose task died; return how many, by kind.

    The task starts the job over (or fails it after ``MAX_ATTEMPTS``); a job whose task was also
    delivered again by the broker is claimed by one of the two, and the other does nothing.
    """
    counts = dict.fromkeys(liveness.KINDS.values(), 0)
    for job in liveness.dead_jobs():
        if _resend_parts(job):
            counts[liveness.KINDS[job.state]] += 1
            continue
        task, queue, id_field = _task_of(job)
        task_id = str(uuid.uuid4())
        type(job)._base_manager.filter(pk=job.pk).update(**{id_field: task_id})
        task.apply_async((job.pk,), queue=queue, task_id=task_id)
        counts[liveness.KINDS[job.state]] += 1
        logger.warning(
            "data_exchange_tool: %s #%s was left running by a dead worker; its task is sent again",
            job._meta.label,
            job.pk,
        )
    return counts


def _resend_parts(job: ImportJob | ExportJob) -> bool:
    """For a partitioned job: send again what died (parts, or the merge); False otherwise."""
    parts = liveness.job_parts(job)
    if not parts or not isinstance(job, ImportJob):
        return False
    task, finish, queue = _part_task(parts[0].phase)
    if any(p.state == PartState.FAILED for p in parts):
        if job.state == JobState.PREVIEW_IN_PROGRESS:
            preview_job.apply_async((job.pk,), queue=queue)  # it runs again in one task
    elif all(p.state == PartState.DONE for p in parts):
        finish.apply_async((job.pk,), queue=queue)
    for part in parts:
        # A waiting part's message may be held by the dead worker: sending it twice is harmless.
        if part.state == PartState.PENDING or liveness.part_death(part) is not None:
            task_id = str(uuid.uuid4())
            ImportJobPart.objects.filter(pk=part.pk).update(task_id=task_id)
            task.apply_async((part.pk,), queue=queue, task_id=task_id)
    logger.warning(
        "data_exchange_tool: %s #%s: the parts dead workers left are sent again",
        job._meta.label,
        job.pk,
    )
    return True


def _task_of(job: ImportJob | ExportJob) -> tuple[Task, str, str]:
    """Return the task that runs the job in its current state, its queue and its id field."""
    if job.state == JobState.PREVIEW_IN_PROGRESS:
        return preview_job, app_settings.PREVIEW_QUEUE, "preview_task_id"
    if job.state == JobState.IMPORT_IN_PROGRESS:
        return import_job, app_settings.IMPORT_QUEUE, "import_task_id"
    return export_job, app_settings.EXPORT_QUEUE, "task_id"


@worker_ready.connect(dispatch_uid="data_exchange_tool.restart_dead_jobs")
def restart_dead_jobs_when_ready(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts sends again the tasks of the jobs dead workers left running."""
    try:
        counts = restart_dead_jobs()
    except Exception:  # a worker must start even when the database is not reachable yet
        logger.exception("data_exchange_tool: could not look for jobs left by dead workers")
        return
    finally:
        # The worker's own process holds no connection for its pool's children to inherit.
        db.connections.close_all()
    if any(counts.values()):
        logger.warning("data_exchange_tool: tasks sent again for jobs left running: %s", counts)
