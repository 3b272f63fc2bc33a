"""
The Celery tasks, and the functions that send them.

Tasks take the job's pk only, are sent after the transaction commits to the queue named by
``DATA_EXCHANGE_PREVIEW_QUEUE`` / ``DATA_EXCHANGE_IMPORT_QUEUE`` (read at send time), are
acknowledged late and are idempotent: each first claims its job under a row lock and returns
without changing anything when the job is not in the state it expects. The work itself lives in
``pipeline``; the task bodies only claim, run and record.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import TYPE_CHECKING, Any

import django_fsm as fsm
from celery import current_app, shared_task
from django.db import transaction
from django.utils import timezone

from data_exchange_tool import signals
from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import (
    FileFormatError,
    ImportAbortedError,
    ImportCancelledError,
    TransitionRefusedError,
)
from data_exchange_tool.imports.pipeline import ImportRun, PreviewRun, RunResult
from data_exchange_tool.models import ImportJob, ImportJobPreviewRow, ImportJobRowError, Phase
from data_exchange_tool.progress import ProgressChannel, request_cancel
from data_exchange_tool.states import JobState
from data_exchange_tool.storage import delete_file_on_commit

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)
jobs = ImportJob.objects


def _send_on_commit(task: Any, job_pk: Any, queue: str, task_id: str) -> None:
    transaction.on_commit(partial(task.apply_async, (job_pk,), queue=queue, task_id=task_id))


def enqueue_preview(job: ImportJob) -> None:
    """Send the preview task of ``job`` once the current transaction commits."""
    job.preview_task_id = str(uuid.uuid4())
    jobs.filter(pk=job.pk).update(preview_task_id=job.preview_task_id)
    _send_on_commit(preview_job, job.pk, app_settings.PREVIEW_QUEUE, job.preview_task_id)


def enqueue_import(job: ImportJob) -> None:
    """Send the import task of ``job`` once the current transaction commits."""
    job.import_task_id = str(uuid.uuid4())
    jobs.filter(pk=job.pk).update(import_task_id=job.import_task_id)
    _send_on_commit(import_job, job.pk, app_settings.IMPORT_QUEUE, job.import_task_id)


def routing_key(task: Task) -> str:
    """Return the routing key (queue) the running task was delivered with."""
    info = task.request.delivery_info or {}
    return str(info.get("routing_key") or "")


# --- preview -------------------------------------------------------------------------------


@shared_task(bind=True, name="data_exchange_tool.preview_job", acks_late=True, ignore_result=True)
def preview_job(self: Task, job_pk: Any) -> None:
    """Validate every row of the job's file and record what the import would do."""
    job = claim_preview(job_pk, routing_key(self))
    if job is None:
        return
    channel = ProgressChannel(job)
    try:
        result = PreviewRun(job, channel).execute()
    except ImportCancelledError:
        return
    except FileFormatError as exc:
        finish_preview(job, message=str(exc))
    except Exception as exc:
        logger.exception("data_exchange_tool: preview of job %s failed", job_pk)
        finish_preview(job, message=f"The preview failed unexpectedly: {exc}")
    else:
        finish_preview(job, result=result)
    finally:
        channel.close()


def claim_preview(job_pk: Any, queue: str) -> ImportJob | None:
    """Move a CREATED job to PREVIEW_IN_PROGRESS; return None if it is in another state."""
    with transaction.atomic():
        job = jobs.select_for_update().filter(pk=job_pk).first()
        if job is None or not fsm.can_proceed(job.start_preview):
            return None
        job.start_preview()
        job.preview_queue = queue
        job.save()
        ImportJobRowError.objects.filter(job=job).delete()
        ImportJobPreviewRow.objects.filter(job=job).delete()
    return job


def finish_preview(job: ImportJob, result: RunResult | None = None, message: str = "") -> None:
    """Record the end of a preview, unless the job was cancelled meanwhile."""
    with transaction.atomic():
        current = jobs.select_for_update().get(pk=job.pk)
        if current.state != JobState.PREVIEW_IN_PROGRESS:
            return
        current.file_encoding = job.file_encoding
        current.file_headers = job.file_headers
        if result is not None:
            current.succeed_preview(result)
        else:
            current.fail_preview(message)
        current.save()
        transaction.on_commit(
            partial(
                signals.preview_finished.send,
                type(current),
                job=current,
                result=result,
                message=message,
            )
        )
    if result is not None and current.options.get("skip_preview_confirmation"):
        _auto_confirm(current)


def _auto_confirm(job: ImportJob) -> None:
    try:
        job.confirm(job.created_by)
    except TransitionRefusedError as exc:
        logger.info("data_exchange_tool: job %s not confirmed automatically: %s", job.pk, exc)


# --- import --------------------------------------------------------------------------------


@shared_task(bind=True, name="data_exchange_tool.import_job", acks_late=True, ignore_result=True)
def import_job(self: Task, job_pk: Any) -> None:
    """Write the job's rows in one transaction, in batches."""
    job = claim_import(job_pk, routing_key(self))
    if job is None:
        return
    channel = ProgressChannel(job)
    run = ImportRun(job, channel)
    try:
        with transaction.atomic():
            result = run.execute()
            job.after_import(result)
            succeed_import(job, result, channel)
    except ImportCancelledError:
        cancelled_import(job)
    except (ImportAbortedError, FileFormatError) as exc:
        fail_import(job, str(exc), run.abort_errors)
    except Exception as exc:
        logger.exception("data_exchange_tool: import of job %s failed", job_pk)
        fail_import(job, f"The import failed and nothing was written: {exc}")
    finally:
        channel.close()


def claim_import(job_pk: Any, queue: str) -> ImportJob | None:
    """Mark a confirmed job's import as started; return None if it is not waiting for one."""
    with transaction.atomic():
        job = jobs.select_for_update().filter(pk=job_pk).first()
        if job is None or job.state != JobState.IMPORT_IN_PROGRESS or job.import_started_at:
            return None
        job.import_started_at = job.heartbeat_at = timezone.now()
        job.import_queue = queue
        job.save()
        ImportJobRowError.objects.filter(job=job, phase=Phase.IMPORT).delete()
    return job


def succeed_import(job: ImportJob, result: RunResult, channel: ProgressChannel) -> None:
    """Inside the import's transaction: end the import, unless it was cancelled meanwhile."""
    current = jobs.select_for_update().get(pk=job.pk)
    if channel.cancel_requested() or current.state != JobState.IMPORT_IN_PROGRESS:
        raise ImportCancelledError(job.pk)
    current.succeed_import(result)
    current.save()
    transaction.on_commit(
        partial(signals.import_finished.send, type(current), job=current, result=result)
    )


def fail_import(job: ImportJob, message: str, errors: list[ImportJobRowError] = ()) -> None:  # type: ignore[assignment]
    """After the rollback: record why the import failed and the rows that made it fail."""
    with transaction.atomic():
        current = jobs.select_for_update().get(pk=job.pk)
        if current.state != JobState.IMPORT_IN_PROGRESS:
            return
        current.fail_import(message)
        current.save()
        ImportJobRowError.objects.bulk_create(errors)
        transaction.on_commit(
            partial(signals.import_failed.send, type(current), job=current, message=message)
        )


def cancelled_import(job: ImportJob) -> None:
    """After the rollback: mark a cancelled import as CANCELLED."""
    with transaction.atomic():
        current = jobs.select_for_update().get(pk=job.pk)
        if current.state == JobState.IMPORT_IN_PROGRESS:
            current.cancel()
            current.save()
            transaction.on_commit(partial(signals.job_cancelled.send, type(current), job=current))


# --- actions -------------------------------------------------------------------------------


def rerun_preview(job: ImportJob, file: Any = None, force_import: bool | None = None) -> None:
    """Run the preview of a finished preview again, with a new file when given.

    :param force_import: change the job's force-import option at the same time (None: keep it).
    """
    with transaction.atomic():
        current = jobs.select_for_update().get(pk=job.pk)
        if not fsm.can_proceed(current.reset_preview):
            raise TransitionRefusedError(
                "The preview can run again only once it has finished.", current.state
            )
        replaced = current.file.name if file is not None else ""
        if file is not None:
            current.file = file
            current.file_name = getattr(file, "name", "")[:255]
        if force_import is not None:
            current.force_import = force_import
        current.reset_preview()
        current.save()
        if replaced and replaced != current.file.name:
            delete_file_on_commit(current.file.storage, replaced)
        enqueue_preview(current)
    job.refresh_from_db()


def cancel_job(job: ImportJob) -> None:
    """Cancel a job; a running import is asked to stop and rolls back at its next batch."""
    fresh = jobs.get(pk=job.pk)
    if fresh.state == JobState.IMPORT_IN_PROGRESS and fresh.import_started_at:
        request_cancel(fresh)
        return
    with transaction.atomic():
        current = jobs.select_for_update().get(pk=job.pk)
        if current.state == JobState.IMPORT_IN_PROGRESS and current.import_started_at:
            request_cancel(current)
            return
        if not fsm.can_proceed(current.cancel):
            raise TransitionRefusedError(
                f"A job in state {JobState(current.state).label} cannot be cancelled.",
                current.state,
            )
        current.cancel()
        current.save()
        task_ids = [t for t in (current.preview_task_id, current.import_task_id) if t]
        transaction.on_commit(partial(_revoke, task_ids))
        transaction.on_commit(partial(signals.job_cancelled.send, type(current), job=current))
    job.refresh_from_db()


def _revoke(task_ids: list[str]) -> None:
    try:
        current_app.control.revoke(task_ids)
    except Exception:  # the broker may be down; the tasks find the job cancelled anyway
        logger.warning("data_exchange_tool: could not revoke tasks %s", task_ids, exc_info=True)


# --- housekeeping ----------------------------------------------------------------------------


@shared_task(name="data_exchange_tool.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs() -> dict[str, int]:
    """Fail previews, imports and exports whose task stopped sending heartbeats.

    A worker killed mid-task leaves its job in progress until the task is delivered again or the
    job is reaped. Confirming a job reaps its target's imports by itself; schedule this task with
    celery beat (or run ``manage.py reap_stale_jobs`` from cron) so that every job is reaped.
    """
    from data_exchange_tool.export_tasks import reap_stale_exports
    from data_exchange_tool.locking import reap_stale_jobs as reap_stale_imports

    return {"imports": reap_stale_imports(), "exports": reap_stale_exports()}
