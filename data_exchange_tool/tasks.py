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
from typing import TYPE_CHECKING, Any

import django_fsm as fsm
from celery import shared_task
from django.db import transaction
from django.utils import timezone

from data_exchange_tool import liveness, recording
from data_exchange_tool.exceptions import (
    DataExchangeError,
    ExportCancelledError,
    FileFormatError,
    ImportAbortedError,
    ImportCancelledError,
)
from data_exchange_tool.exports.pipeline import ExportRun
from data_exchange_tool.imports.pipeline import ImportRun, PreviewRun
from data_exchange_tool.models import (
    ExportJob,
    ImportJob,
    ImportJobPreviewRow,
    ImportJobRowError,
    Phase,
)
from data_exchange_tool.progress import ProgressChannel
from data_exchange_tool.states import ExportState, JobState
from data_exchange_tool.storage import delete_file_on_commit, get_storage

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)


def routing_key(task: Task) -> str:
    """Return the routing key (queue) the running task was delivered with ("" in-process)."""
    info = task.request.delivery_info or {}
    return str(info.get("routing_key") or "")


def _claimed(job_pk: Any, model: type[Any]) -> Any:
    return model.objects.select_for_update().filter(pk=job_pk).first()


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
        recording.end_preview(job, message=str(exc))
    except Exception as exc:
        logger.exception("data_exchange_tool: preview of job %s failed", job_pk)
        recording.end_preview(job, message=f"The preview failed unexpectedly: {exc}")
    else:
        recording.end_preview(job, result=result)
    finally:
        channel.close()


def claim_preview(job_pk: Any, queue: str) -> ImportJob | None:
    """Move a CREATED job to PREVIEW_IN_PROGRESS; return None if it is in another state."""
    with transaction.atomic():
        job = _claimed(job_pk, ImportJob)
        if job is None or not fsm.can_proceed(job.start_preview):
            return None
        job.start_preview()
        job.preview_queue = queue
        job.save()
        ImportJobRowError.objects.filter(job=job).delete()
        ImportJobPreviewRow.objects.filter(job=job).delete()
    return job


# --- import --------------------------------------------------------------------------------


@shared_task(bind=True, name="data_exchange_tool.import_job", acks_late=True, ignore_result=True)
def import_job(self: Task, job_pk: Any) -> None:
    """Write the job's rows in one transaction, in batches."""
    job = claim_import(job_pk, routing_key(self))
    if job is None:
        return
    channel = ProgressChannel(job)
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
    except (ImportAbortedError, FileFormatError) as exc:
        recording.fail_import(job, str(exc), run.abort_errors)
    except Exception as exc:
        logger.exception("data_exchange_tool: import of job %s failed", job_pk)
        recording.fail_import(job, f"The import failed and nothing was written: {exc}")
    finally:
        run.close(committed)
        channel.close()


def claim_import(job_pk: Any, queue: str) -> ImportJob | None:
    """Mark a confirmed job's import as started; return None if it is not waiting for one."""
    with transaction.atomic():
        job = _claimed(job_pk, ImportJob)
        if job is None or job.state != JobState.IMPORT_IN_PROGRESS or job.import_started_at:
            return None
        job.import_started_at = job.heartbeat_at = timezone.now()
        job.import_queue = queue
        job.save()
        ImportJobRowError.objects.filter(job=job, phase=Phase.IMPORT).delete()
    return job


# --- export --------------------------------------------------------------------------------


@shared_task(bind=True, name="data_exchange_tool.export_job", acks_late=True, ignore_result=True)
def export_job(self: Task, job_pk: Any) -> None:
    """Write the export's rows to a file in the job storage."""
    job = claim_export(job_pk, routing_key(self))
    if job is None:
        return
    channel = ProgressChannel(job)
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
    """Mark the export as running; return None when it is not waiting (or dead) for a task.

    A running export whose task died is claimed again: it starts over, which is harmless since
    it only writes a new file.
    """
    with transaction.atomic():
        job = _claimed(job_pk, ExportJob)
        if job is None:
            return None
        if job.state == ExportState.EXPORT_IN_PROGRESS and liveness.is_stale(job):
            logger.warning("data_exchange_tool: export %s restarts after a lost task", job_pk)
            job.started_at = job.heartbeat_at = timezone.now()
        elif fsm.can_proceed(job.start_export):
            job.start_export()
        else:
            return None
        job.queue = queue
        job.save()
    return job


# --- housekeeping --------------------------------------------------------------------------


@shared_task(name="data_exchange_tool.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs() -> dict[str, int]:
    """Fail previews, imports and exports whose task stopped sending heartbeats.

    Schedule it with celery beat (or run ``manage.py reap_stale_jobs`` from cron); confirming a
    job reaps its target's imports by itself.
    """
    return liveness.reap_stale_jobs()
