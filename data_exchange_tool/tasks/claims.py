"""
Claiming a job: its task fetches it under its row lock and starts it, or does nothing.

A task takes the job's pk only. It reads the job under a row lock and starts it when the job is in
the state the task expects, taking the job's lease (``liveness.take_over``); otherwise it returns
None and changes nothing, so a task delivered twice, late, or after a cancel is harmless. A job
whose earlier attempt died is started again here, or failed once it died ``MAX_ATTEMPTS`` times.
The parts of a partitioned job are claimed by ``parts.claim_part``, beside the rest of their life.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import django_fsm as fsm
from celery import shared_task
from django.db import transaction

from data_exchange_tool import leases, liveness, recording
from data_exchange_tool.imports import staging
from data_exchange_tool.models import (
    ExportJob,
    ImportJob,
    ImportJobPart,
    ImportJobPreviewRow,
    ImportJobRowError,
    Phase,
)
from data_exchange_tool.states import ExportState, JobState

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)
Job = TypeVar("Job", ImportJob, ExportJob)


def job_task(name: str) -> Any:
    """Declare the task ``name`` that runs a job or a part of one.

    Every such task is acknowledged late and rejected when its worker is lost, so a task whose
    worker died is delivered again (README, "When a worker dies"); it keeps no result.
    """
    return shared_task(
        bind=True, name=name, acks_late=True, reject_on_worker_lost=True, ignore_result=True
    )


def routing_key(task: Task) -> str:
    """Return the routing key (queue) the running task was delivered with ("" in-process)."""
    info = task.request.delivery_info or {}
    return str(info.get("routing_key") or "")


def _claimed(job_pk: Any, model: type[Any]) -> Any:
    return model.objects.select_for_update().filter(pk=job_pk).first()


def claim(model: type[Job], job_pk: Any, begin: Callable[[Job], bool]) -> Job | None:
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

    return claim(ImportJob, job_pk, begin)


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

    return claim(ImportJob, job_pk, begin)


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

    return claim(ExportJob, job_pk, begin)
