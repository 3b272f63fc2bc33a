"""
The export task, the function that sends it, and the export's actions (cancel, download URL).

Same guarantees as the import tasks: the task takes the job's pk only, is sent after the
transaction commits to ``DATA_EXCHANGE_EXPORT_QUEUE`` (read at send time), is acknowledged late
and is idempotent: it first claims the job under a row lock and returns without doing anything
unless the job is CREATED, or still running with a heartbeat older than
``DATA_EXCHANGE_HEARTBEAT_TIMEOUT`` (a worker died and the task came back: the export starts
again, which is harmless since it only writes a new file). A cancel is noticed between chunks;
the partial file is dropped.

``run_export(job)`` runs an export in-process, without Celery (the ``export_job`` command and
benchmarks use it).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import django_fsm as fsm
from celery import current_app, shared_task
from django.db import transaction
from django.utils import timezone

from data_exchange_tool import signals
from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import (
    DataExchangeError,
    ExportCancelledError,
    TransitionRefusedError,
)
from data_exchange_tool.exports.pipeline import ExportProgress, ExportResult, ExportRun
from data_exchange_tool.models import ExportJob
from data_exchange_tool.states import ExportState
from data_exchange_tool.storage import delete_file_on_commit, get_storage
from data_exchange_tool.writers import is_s3_storage

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)
jobs = ExportJob.objects


def enqueue_export(job: ExportJob) -> None:
    """Send the export task of ``job`` once the current transaction commits."""
    job.task_id = str(uuid.uuid4())
    jobs.filter(pk=job.pk).update(task_id=job.task_id)
    send = partial(
        export_job.apply_async, (job.pk,), queue=app_settings.EXPORT_QUEUE, task_id=job.task_id
    )
    transaction.on_commit(send)


def _routing_key(task: Task) -> str:
    info = task.request.delivery_info or {}
    return str(info.get("routing_key") or "")


@shared_task(bind=True, name="data_exchange_tool.export_job", acks_late=True, ignore_result=True)
def export_job(self: Task, job_pk: Any) -> None:
    """Write the job's rows to a file in the job storage."""
    job = claim_export(job_pk, _routing_key(self))
    if job is not None:
        execute_export(job)


def run_export(job: ExportJob) -> ExportJob:
    """Run a CREATED export now, in this process, and return it refreshed.

    ::

        job = StockRecordExportJob.start(filters={"partner": "ACME"}, enqueue=False)
        run_export(job)   # job.state, job.total_rows, job.file, job.duration...
    """
    claimed = claim_export(job.pk, "")
    if claimed is None:
        job.refresh_from_db()
        raise TransitionRefusedError(
            f"Export #{job.pk} is {ExportState(job.state).label.lower()}: only a created "
            "export can run.",
            job.state,
        )
    execute_export(claimed)
    job.refresh_from_db()
    return job


def _stale(job: ExportJob) -> bool:
    timeout = timedelta(seconds=float(app_settings.HEARTBEAT_TIMEOUT))
    return job.heartbeat_at is None or job.heartbeat_at < timezone.now() - timeout


def reap_stale_exports() -> int:
    """Fail running exports whose task stopped reporting; return how many were failed."""
    cutoff = timezone.now() - timedelta(seconds=float(app_settings.HEARTBEAT_TIMEOUT))
    count = 0
    for pk in jobs.running().filter(heartbeat_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            job = jobs.select_for_update().filter(pk=pk).first()
            if job is None or job.state != ExportState.EXPORT_IN_PROGRESS or not _stale(job):
                continue
            message = "The task stopped responding (no heartbeat); start the export again."
            job.fail_export(message)
            job.save()
            signal = partial(signals.export_failed.send, type(job), job=job, message=message)
            transaction.on_commit(signal)
        logger.warning("data_exchange_tool: failed stale export %s", pk)
        count += 1
    return count


def claim_export(job_pk: Any, queue: str) -> ExportJob | None:
    """Mark the export as running; return None when it is not waiting (or dead) for a task."""
    with transaction.atomic():
        job = jobs.select_for_update().filter(pk=job_pk).first()
        if job is None:
            return None
        if job.state == ExportState.EXPORT_IN_PROGRESS and _stale(job):
            logger.warning("data_exchange_tool: export %s restarts after a lost task", job_pk)
            job.started_at = job.heartbeat_at = timezone.now()
        elif fsm.can_proceed(job.start_export):
            job.start_export()
        else:
            return None
        job.queue = queue
        job.save()
    return job


def execute_export(job: ExportJob) -> None:
    """Run a claimed export and record how it ended."""
    try:
        result = ExportRun(job, ExportProgress(job)).execute()
    except ExportCancelledError:
        logger.info("data_exchange_tool: export %s stopped: it was cancelled", job.pk)
    except DataExchangeError as exc:
        finish_export(job, message=str(exc))
    except Exception as exc:
        logger.exception("data_exchange_tool: export %s failed", job.pk)
        finish_export(job, message=f"The export failed unexpectedly: {exc}")
    else:
        finish_export(job, result=result)


def finish_export(job: ExportJob, result: ExportResult | None = None, message: str = "") -> None:
    """Record the end of an export; a file written for a job cancelled meanwhile is deleted."""
    with transaction.atomic():
        current = jobs.select_for_update().get(pk=job.pk)
        if current.state != ExportState.EXPORT_IN_PROGRESS:
            if result is not None:  # garbage: deleted whatever DATA_EXCHANGE_DELETE_FILES says
                delete_file_on_commit(get_storage(), result.name, always=True)
            return
        if result is not None:
            current.succeed_export(result.name, result.file_name, result.size, result.rows)
            signal = partial(signals.export_finished.send, type(current), job=current)
        else:
            current.fail_export(message)
            signal = partial(
                signals.export_failed.send, type(current), job=current, message=message
            )
        current.save()
        transaction.on_commit(signal)


def cancel_export(job: ExportJob) -> None:
    """Cancel an export; a running task stops at its next chunk and drops its file."""
    with transaction.atomic():
        current = jobs.select_for_update().get(pk=job.pk)
        if not fsm.can_proceed(current.cancel):
            raise TransitionRefusedError(
                f"An export in state {ExportState(current.state).label} cannot be cancelled.",
                current.state,
            )
        was_waiting = current.state == ExportState.CREATED
        current.cancel()
        current.save()
        if was_waiting and current.task_id:
            transaction.on_commit(partial(_revoke, current.task_id))
        transaction.on_commit(partial(signals.job_cancelled.send, type(current), job=current))
    job.refresh_from_db()


def _revoke(task_id: str) -> None:
    try:
        current_app.control.revoke(task_id)
    except Exception:  # the broker may be down; the task finds the job cancelled anyway
        logger.warning("data_exchange_tool: could not revoke task %s", task_id, exc_info=True)


def presigned_url(job: ExportJob, expire: int = 300) -> str | None:
    """Return a short-lived download URL of the job's file on S3, or None elsewhere."""
    if job.state != ExportState.EXPORT_SUCCEEDED or not job.file.name:
        return None
    storage = get_storage()
    if not is_s3_storage(storage):
        return None
    disposition = f'attachment; filename="{job.file_name}"'
    return storage.url(
        job.file.name, parameters={"ResponseContentDisposition": disposition}, expire=expire
    )
