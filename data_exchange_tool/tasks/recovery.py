"""
After a worker died: the reaper of dead jobs, and the tasks sent again when a worker starts.

``reap_stale_jobs`` fails the jobs whose task died (``liveness``), for the jobs no redelivery
reaches, and sweeps the staging finished jobs left behind. A worker that starts sends again the
task of every job a dead worker left running (``restart_dead_jobs``, on Celery's ``worker_ready``
signal): the task claims the job and starts it over (``claims``), or, for a partitioned job, the
parts that died or the step that ends them; it sweeps the staging too.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from celery import shared_task
from celery.signals import worker_ready
from django import db

from data_exchange_tool import liveness
from data_exchange_tool.conf import app_settings
from data_exchange_tool.models import ExportJob, ImportJob, PartState
from data_exchange_tool.states import JobState
from data_exchange_tool.tasks.jobs import export_job, import_job, preview_job
from data_exchange_tool.tasks.parts import part_tasks, resend_parts

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)


@shared_task(name="data_exchange_tool.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs() -> dict[str, int]:
    """Fail the previews, imports and exports whose task died.

    Schedule it with celery beat (or run ``manage.py reap_stale_jobs`` from cron) for the jobs no
    redelivery reaches; confirming a job reaps its target's imports by itself. It then sweeps the
    staging finished jobs left behind (``liveness.sweep_staging``).
    """
    counts = liveness.reap_stale_jobs()
    liveness.sweep_staging()
    return counts


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
    _task, finish, queue = part_tasks(parts[0].phase)
    if any(p.state == PartState.FAILED for p in parts):
        if job.state == JobState.PREVIEW_IN_PROGRESS:
            preview_job.apply_async((job.pk,), queue=queue)  # it runs again in one task
    elif all(p.state == PartState.DONE for p in parts):
        finish.apply_async((job.pk,), queue=queue)
    # A waiting part's message may be held by the dead worker: sending it twice is harmless.
    resend_parts(
        [p for p in parts if p.state == PartState.PENDING or liveness.part_death(p) is not None]
    )
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
        liveness.sweep_staging()  # a dead worker may have left a finished job's staging
    except Exception:  # a worker must start even when the database is not reachable yet
        logger.exception("data_exchange_tool: could not look for jobs left by dead workers")
        return
    finally:
        # The worker's own process holds no connection for its pool's children to inherit.
        db.connections.close_all()
    if any(counts.values()):
        logger.warning("data_exchange_tool: tasks sent again for jobs left running: %s", counts)
