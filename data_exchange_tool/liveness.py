"""
Liveness: is the task working on a job still alive, and failing the jobs whose task died.

A running task reports progress, and with it a heartbeat (``heartbeat_at``), at least every
``DATA_EXCHANGE_PROGRESS_INTERVAL`` seconds. A job whose heartbeat is older than
``DATA_EXCHANGE_HEARTBEAT_TIMEOUT`` is taken as dead; on SQLite a running import reports through
the cache instead (its transaction holds the database's write lock), so the cache says it lives.

``reap_stale_jobs`` fails the previews, imports and exports whose task died, so a person sees that
they must run again and the target's import lock is free. It runs from the
``data_exchange_tool.reap_stale_jobs`` task (celery beat), the ``reap_stale_jobs`` command, and for
one target before each confirm.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from data_exchange_tool import recording
from data_exchange_tool.conf import app_settings
from data_exchange_tool.models import ExportJob, ImportJob
from data_exchange_tool.progress import import_reports_in_cache
from data_exchange_tool.states import ExportState, JobState

logger = logging.getLogger(__name__)

#: What a person reads on a job whose task died, by the state it was in.
DEAD_TASK_MESSAGES = {
    JobState.PREVIEW_IN_PROGRESS: (
        "The preview's worker stopped responding (no heartbeat); run the preview again."
    ),
    JobState.IMPORT_IN_PROGRESS: (
        "The import's worker stopped responding (no heartbeat); nothing was written. Upload the "
        "file again to import it."
    ),
    ExportState.EXPORT_IN_PROGRESS: (
        "The export's worker stopped responding (no heartbeat); start the export again."
    ),
}


def heartbeat_cutoff() -> Any:
    """Return the time before which a heartbeat is too old for a living task."""
    return timezone.now() - timedelta(seconds=float(app_settings.HEARTBEAT_TIMEOUT))


def is_stale(job: ImportJob | ExportJob) -> bool:
    """Return True when the task working on ``job`` stopped sending heartbeats."""
    if job.heartbeat_at is not None and job.heartbeat_at >= heartbeat_cutoff():
        return False
    return not (job.state == JobState.IMPORT_IN_PROGRESS and import_reports_in_cache(job))


def reap_stale_jobs(content_type_id: Any = None) -> dict[str, int]:
    """Fail running jobs whose task died; return how many previews, imports and exports.

    :param content_type_id: only the import jobs of this target (a confirm's own check).
    """
    counts = {"previews": 0, "imports": 0, "exports": 0}
    cutoff = heartbeat_cutoff()
    imports = ImportJob.objects.running().filter(heartbeat_at__lt=cutoff)
    if content_type_id is not None:
        imports = imports.filter(content_type_id=content_type_id)
    for job in imports:
        kind = "previews" if job.state == JobState.PREVIEW_IN_PROGRESS else "imports"
        counts[kind] += _reap(job)
    if content_type_id is None:
        for job in ExportJob.objects.running().filter(heartbeat_at__lt=cutoff):
            counts["exports"] += _reap(job)
    return counts


def _reap(job: ImportJob | ExportJob) -> int:
    message = DEAD_TASK_MESSAGES[job.state]
    if job.state == JobState.PREVIEW_IN_PROGRESS:
        reaped = recording.end_preview(job, message=message, only_if=is_stale)
    elif job.state == JobState.IMPORT_IN_PROGRESS:
        reaped = recording.fail_import(job, message, only_if=is_stale)
    else:
        reaped = recording.end_export(job, message=message, only_if=is_stale)
    if reaped is None:
        return 0
    logger.warning("data_exchange_tool: failed %s #%s: its task died", job._meta.label, job.pk)
    return 1
