"""
The lock per target model: one running import per target, across job types.

The database enforces it. ``ImportJob`` has a partial unique constraint on ``content_type`` for
rows in IMPORT_IN_PROGRESS, and ``actions.confirm_import`` moves the job to that state inside its
own transaction: of several confirms racing for one target, the database lets exactly one commit
and the others get an ``IntegrityError``, which becomes a ``JobLockedError`` naming the holder
(``describe_holder``). The lock is released by the transition that ends the import. Previews never
hold it, and a dead import is failed (``liveness``) so the lock cannot be held forever: a confirm
fails its target's dead holder first (on PostgreSQL the moment its worker died) and goes on.

This module answers the questions around the lock: who holds it, and why a confirm would be
refused now, in words a person reads. A dead holder is no reason to refuse: the confirm would
fail it and start.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from data_exchange_tool import liveness
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import JobState


def lock_holder(job: ImportJob, *, alive_only: bool = True) -> ImportJob | None:
    """Return the job importing into ``job``'s target, other than ``job`` itself.

    :param alive_only: None when the holder's task died (a confirm would fail it and start).
    """
    holder = (
        ImportJob.objects.filter(
            content_type_id=job.content_type_id, state=JobState.IMPORT_IN_PROGRESS
        )
        .exclude(pk=job.pk)
        .select_related("confirmed_by", "created_by")
        .first()
    )
    if holder is not None and alive_only and not liveness.is_alive(holder):
        return None
    return holder


def lock_holders() -> dict[int, ImportJob]:
    """Return the live importing job of each locked target, by content type id (one query)."""
    importing = ImportJob.objects.importing().select_related(
        "content_type", "confirmed_by", "created_by"
    )
    return {job.content_type_id: job for job in importing if liveness.is_alive(job)}


def describe_holder(holder: ImportJob) -> str:
    """Return a sentence naming the job that holds the lock."""
    user = holder.confirmed_by or holder.created_by
    values = {
        "id": holder.pk,
        "type": holder._meta.verbose_name,
        "target": holder.content_type.name,
    }
    if user is None:
        return (
            _(
                "Job #%(id)s (%(type)s) is importing into %(target)s now; confirm again when it "
                "has finished."
            )
            % values
        )
    return _(
        "Job #%(id)s (%(type)s), started by %(user)s, is importing into %(target)s now; "
        "confirm again when it has finished."
    ) % {**values, "user": user.get_username()}


def confirm_refusal(job: ImportJob) -> str | None:
    """Return why ``job`` cannot be confirmed now, in words, or None."""
    reason = state_refusal(job)
    if reason:
        return reason
    holder = lock_holder(job)
    return describe_holder(holder) if holder is not None else None


def state_refusal(job: ImportJob) -> str | None:
    """Return why the job's own state or preview forbids confirming, in plain words, or None."""
    reason = STATE_REFUSALS.get(job.state)
    if reason is not None:
        return str(reason())
    if job.invalid_rows and not job.force_import:
        return ngettext(
            "The preview found %(count)s invalid row: fix the file and run the preview again, "
            "or import the valid rows and skip it.",
            "The preview found %(count)s invalid rows: fix the file and run the preview again, "
            "or import the valid rows and skip them.",
            job.invalid_rows,
        ) % {"count": job.invalid_rows}
    return None


#: Why a job in each state (but a finished preview) cannot be confirmed, in a person's words.
STATE_REFUSALS = {
    JobState.CREATED: lambda: _("The preview has not finished yet."),
    JobState.PREVIEW_IN_PROGRESS: lambda: _("The preview has not finished yet."),
    JobState.PREVIEW_FAILED: lambda: _(
        "This preview failed: fix the file and run the preview again."
    ),
    JobState.IMPORT_IN_PROGRESS: lambda: _("This file is being imported now."),
    JobState.IMPORT_SUCCEEDED: lambda: _("This file is already imported."),
    JobState.IMPORT_FAILED: lambda: _(
        "This import failed and wrote nothing: read why above, then run the preview again and "
        "confirm."
    ),
    JobState.CANCELLED: lambda: _("This job was cancelled: upload the file again to import it."),
}
