"""
The lock per target model: one running import per target, across job types.

The database enforces it. ``ImportJob`` has a partial unique constraint on ``content_type`` for
rows in IMPORT_IN_PROGRESS, and ``confirm_import`` moves the job to that state inside its own
transaction: of several confirms racing for one target, the database lets exactly one commit and
the others get an ``IntegrityError``, which becomes a ``JobLockedError`` naming the holder. The lock
is released by the transition that ends the import. Previews never hold it, and a dead import is
failed after ``DATA_EXCHANGE_HEARTBEAT_TIMEOUT`` (``reap_stale_jobs``) so the lock cannot be held
forever.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from data_exchange_tool import signals
from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import JobLockedError, TransitionRefusedError
from data_exchange_tool.progress import import_alive
from data_exchange_tool.states import JobState

if TYPE_CHECKING:
    from data_exchange_tool.models import ImportJob

logger = logging.getLogger(__name__)


def _base():
    from data_exchange_tool.models import ImportJob

    return ImportJob.objects


def lock_holder(job: ImportJob) -> ImportJob | None:
    """Return the job importing into ``job``'s target, other than ``job`` itself."""
    return (
        _base()
        .filter(content_type_id=job.content_type_id, state=JobState.IMPORT_IN_PROGRESS)
        .exclude(pk=job.pk)
        .select_related("confirmed_by", "created_by")
        .first()
    )


def describe_holder(holder: ImportJob) -> str:
    """Return a sentence naming the job that holds the lock."""
    user = holder.confirmed_by or holder.created_by
    who = f", started by {user.get_username()}," if user is not None else ""
    return (
        f"Job #{holder.pk} ({holder._meta.verbose_name}){who} is importing into "
        f"{holder.content_type.name} now; confirm again when it has finished."
    )


def confirm_refusal(job: ImportJob) -> str | None:
    """Return why ``job`` cannot be confirmed now, in words, or None."""
    reason = state_refusal(job)
    if reason:
        return reason
    holder = lock_holder(job)
    return describe_holder(holder) if holder is not None else None


def state_refusal(job: ImportJob) -> str | None:
    """Return why the job's own state or preview forbids confirming, or None."""
    state = job.state
    if state == JobState.IMPORT_SUCCEEDED:
        return "The job is already imported."
    if state == JobState.IMPORT_IN_PROGRESS:
        return "The job is importing already."
    if state in (JobState.CREATED, JobState.PREVIEW_IN_PROGRESS):
        return "The preview has not finished yet."
    if state != JobState.PREVIEW_SUCCEEDED:
        return f"A job in state {JobState(state).label} cannot be confirmed."
    if job.invalid_rows and not job.force_import:
        return (
            f"The preview found {job.invalid_rows} invalid row(s): fix the file and run the "
            "preview again, or force the import to skip them."
        )
    return None


def confirm_import(job: ImportJob, user: Any = None) -> None:
    """Take the target's lock and start the import of ``job``, or raise saying why not."""
    from data_exchange_tool.tasks import enqueue_import

    reap_stale_jobs(content_type_id=job.content_type_id)
    with transaction.atomic():
        current = _base().select_for_update().get(pk=job.pk)
        reason = state_refusal(current)
        if reason:
            raise TransitionRefusedError(reason, current.state)
        state = current.state  # the transition changes it in memory even when refused
        try:
            with transaction.atomic():
                current.start_import(user)
                current.save()
        except IntegrityError:
            holder = lock_holder(current)
            message = describe_holder(holder) if holder else "Another import holds the lock."
            raise JobLockedError(message, holder.pk if holder else None, state) from None
        enqueue_import(current)
    job.refresh_from_db()


def reap_stale_jobs(content_type_id: Any = None) -> int:
    """Fail running jobs whose task stopped reporting; return how many were failed."""
    cutoff = timezone.now() - timedelta(seconds=app_settings.HEARTBEAT_TIMEOUT)
    stale = _base().running().filter(heartbeat_at__lt=cutoff)
    if content_type_id is not None:
        stale = stale.filter(content_type_id=content_type_id)
    count = 0
    for pk in stale.values_list("pk", flat=True):
        count += _fail_stale(pk, cutoff)
    return count


def _fail_stale(pk: Any, cutoff: Any) -> int:
    with transaction.atomic():
        job = _base().select_for_update().filter(pk=pk).first()
        if job is None or not job.heartbeat_at or job.heartbeat_at >= cutoff:
            return 0
        message = "The task stopped responding (no heartbeat); run it again."
        if job.state == JobState.PREVIEW_IN_PROGRESS:
            job.fail_preview(message)
            signal = partial(
                signals.preview_finished.send, type(job), job=job, result=None, message=message
            )
        elif job.state == JobState.IMPORT_IN_PROGRESS and not import_alive(job):
            job.fail_import(message)
            signal = partial(signals.import_failed.send, type(job), job=job, message=message)
        else:
            return 0
        job.save()
        transaction.on_commit(signal)  # as when the task itself ends the job
    logger.warning("data_exchange_tool: failed stale job %s", pk)
    return 1
