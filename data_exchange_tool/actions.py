"""
Actions: what a person asks of a job, in one place for the admin, the API and the commands.

Start an import (upload a file), confirm it, force it past invalid rows, cancel it, run its preview
again; start an export, cancel it. Each action checks what it may do in its own transaction,
changes the job by a transition under its row lock, and sends the job's task once the transaction
commits, to the queue its setting names (``DATA_EXCHANGE_PREVIEW_QUEUE``, ``_IMPORT_QUEUE``,
``_EXPORT_QUEUE``, read at send time). Who may ask is decided by ``permissions``; the interfaces
check it before they call an action.

``in_process=True`` runs the task in this process when the action's transaction block ends,
instead of sending it to a worker: the management commands use it for cron jobs and scripts, with
the same actions, checks and lock as everywhere else (Celery's settings are left alone).

Reactions are actions taken on an event rather than a person's request: a job started with
``skip_preview_confirmation`` is confirmed when its preview succeeds (``preview_finished``).
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import TYPE_CHECKING, Any

import django_fsm as fsm
from celery import current_app
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from data_exchange_tool import liveness, locking, recording, signals, tasks
from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import (
    ExportFilterError,
    JobLockedError,
    TransitionRefusedError,
    UploadRefusedError,
)
from data_exchange_tool.models import ExportJob, ImportJob
from data_exchange_tool.progress import request_cancel
from data_exchange_tool.states import ExportState, JobState
from data_exchange_tool.storage import delete_file_on_commit
from data_exchange_tool.uploads import clean_delimiter, clean_encoding

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)


# --- sending tasks -------------------------------------------------------------------------


class Sender:
    """Send the tasks an action starts, once its transaction commits (or run them in-process).

    Use it as the action's transaction: ``with Sender(in_process) as sender: ... sender.send()``.
    In-process tasks run when the block has ended, in the caller's process and transaction.
    """

    def __init__(self, in_process: bool = False) -> None:
        self.in_process = in_process
        self.pending: list[tuple[Task, Any]] = []
        self._atomic = transaction.atomic()

    def __enter__(self) -> Sender:
        self._atomic.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._atomic.__exit__(*exc_info)
        if exc_info[0] is None:
            for task, job_pk in self.pending:
                task(job_pk)

    def send(self, task: Task, job: ImportJob | ExportJob, queue: str, id_field: str) -> None:
        """Send ``task`` for ``job`` to ``queue`` once committed; record its id in ``id_field``."""
        task_id = str(uuid.uuid4())
        setattr(job, id_field, task_id)
        model = job._meta.concrete_model or type(job)  # None only on an abstract model
        model._base_manager.filter(pk=job.pk).update(**{id_field: task_id})
        if self.in_process:
            self.pending.append((task, job.pk))
        else:
            send = partial(task.apply_async, (job.pk,), queue=queue, task_id=task_id)
            transaction.on_commit(send)


def revoke(task_ids: list[str]) -> None:
    """Ask the workers to drop tasks not started yet (they would find the job cancelled anyway)."""
    try:
        current_app.control.revoke(task_ids)
    except Exception:  # the broker may be down; the tasks find the job cancelled anyway
        logger.warning("data_exchange_tool: could not revoke tasks %s", task_ids, exc_info=True)


def _send_preview(sender: Sender, job: ImportJob) -> None:
    sender.send(tasks.preview_job, job, app_settings.PREVIEW_QUEUE, "preview_task_id")


# --- imports -------------------------------------------------------------------------------


def start_import(
    job_type: type[ImportJob],
    file: Any,
    *,
    user: Any = None,
    file_name: str = "",
    force_import: bool = False,
    options: dict[str, Any] | None = None,
    encoding: str = "",
    delimiter: str = "",
    in_process: bool = False,
) -> ImportJob:
    """Store an uploaded file as a new job of ``job_type`` and start its preview.

    :param file: a Django ``File`` (an upload); its original name is kept as ``file_name``.
    :param options: ``{"skip_preview_confirmation": True}`` confirms a clean preview by itself.
    :param encoding: the file's text encoding (a Python codec name), instead of detecting it.
    :param delimiter: the CSV delimiter (``,`` ``;`` ``\\t`` ``|``), instead of sniffing it.
    :raises UploadRefusedError: the encoding or the delimiter is not one (nothing is created).
    """
    job = job_type(
        file=file,
        file_name=(file_name or getattr(file, "name", "") or "")[:255],
        force_import=force_import,
        options=with_reading_options(options or {}, encoding, delimiter),
        created_by=user if user is not None and user.is_authenticated else None,
    )
    return submit_import(job, in_process=in_process)


def with_reading_options(
    options: dict[str, Any], encoding: str | None, delimiter: str | None
) -> dict[str, Any]:
    """Return ``options`` with the encoding and delimiter a person named (None: unchanged).

    :raises UploadRefusedError: the encoding or the delimiter is not one.
    """
    options = dict(options)
    for key, value, clean in (
        ("encoding", encoding, clean_encoding),
        ("delimiter", delimiter, clean_delimiter),
    ):
        if value is None:
            continue
        cleaned = clean(value)
        if cleaned:
            options[key] = cleaned
        else:
            options.pop(key, None)
    return options


def submit_import(job: ImportJob, *, in_process: bool = False) -> ImportJob:
    """Save a new job (built with its file) and start its preview once committed."""
    with Sender(in_process) as sender:
        job.save()
        _send_preview(sender, job)
    return job


def confirm_import(
    job: ImportJob, user: Any = None, *, force: bool = False, in_process: bool = False
) -> None:
    """Take the target's lock and start the import, or raise saying why not.

    :param force: import the valid rows and skip the invalid ones (sets ``force_import``).
    :raises TransitionRefusedError: the job's state or preview does not allow it.
    :raises JobLockedError: another job is importing into the same target.
    """
    liveness.reap_stale_jobs(content_type_id=job.content_type_id)
    with Sender(in_process) as sender:
        current = recording.locked(job)
        if current is None:
            raise TransitionRefusedError(_("The job no longer exists."))
        if force:
            current.force_import = True
        reason = locking.state_refusal(current)
        if reason:
            raise TransitionRefusedError(reason, current.state)
        _take_lock(current, user)
        sender.send(tasks.import_job, current, app_settings.IMPORT_QUEUE, "import_task_id")
    job.refresh_from_db()


def _take_lock(job: ImportJob, user: Any) -> None:
    """Move the job to IMPORT_IN_PROGRESS: the database lets one job per target hold it."""
    state = job.state  # the transition changes it in memory even when refused
    try:
        with transaction.atomic():
            job.start_import(user)
            job.save()
    except IntegrityError:
        holder = locking.lock_holder(job, alive_only=False)
        message = locking.describe_holder(holder) if holder else _("Another import holds the lock.")
        raise JobLockedError(message, holder.pk if holder else None, state) from None


def rerun_preview(
    job: ImportJob,
    file: Any = None,
    *,
    force_import: bool | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    in_process: bool = False,
) -> None:
    """Run a finished preview again, with a new file when given.

    :param force_import: change the job's force-import option at the same time (None: keep it).
    :param encoding: the text encoding to read the file in ("": detect it; None: keep the choice).
    :param delimiter: the CSV delimiter ("": sniff it; None: keep the choice).
    :raises UploadRefusedError: the encoding or the delimiter is not one.
    """
    with_reading_options({}, encoding, delimiter)  # refuse a bad one before anything changes
    with Sender(in_process) as sender:
        current = recording.locked(job)
        if current is None or not fsm.can_proceed(current.reset_preview):
            state = current.state if current is not None else ""
            raise TransitionRefusedError(
                _("The preview can run again only once it has finished, or after a failed import."),
                state,
            )
        replaced = current.file.name if file is not None else ""
        if file is not None:
            current.file = file
            current.file_name = (getattr(file, "name", "") or "")[:255]
        if force_import is not None:
            current.force_import = force_import
        if encoding is not None or delimiter is not None:
            current.options = with_reading_options(current.options or {}, encoding, delimiter)
        current.reset_preview()
        current.save()
        if replaced and replaced != current.file.name:
            delete_file_on_commit(current.file.storage, replaced)
        _send_preview(sender, current)
    job.refresh_from_db()


def cancel_import(job: ImportJob) -> None:
    """Cancel a job; a running import is asked to stop and rolls back at its next batch."""
    # A running import is asked to stop without taking its row lock: the import's transaction
    # may hold a key-share lock on the job's row (its row errors refer to it) until it ends.
    fresh = type(job)._base_manager.filter(pk=job.pk).first()
    if fresh is not None and _importing(fresh):
        request_cancel(fresh)
        return
    with transaction.atomic():
        current = recording.locked(job)
        if current is None:
            raise TransitionRefusedError(_("The job no longer exists."))
        if _importing(current):
            request_cancel(current)
            return
        if not fsm.can_proceed(current.cancel):
            raise TransitionRefusedError(
                _("This job has finished, so it cannot be cancelled."), current.state
            )
        recording.cancel(current)
        task_ids = [t for t in (current.preview_task_id, current.import_task_id) if t]
        transaction.on_commit(partial(revoke, task_ids))
    job.refresh_from_db()


def _importing(job: ImportJob) -> bool:
    return job.state == JobState.IMPORT_IN_PROGRESS and job.import_started_at is not None


def auto_confirm(sender: Any, job: ImportJob, result: Any = None, **kwargs: Any) -> None:
    """Confirm a job started with ``skip_preview_confirmation`` once its preview succeeds."""
    if result is None or not (job.options or {}).get("skip_preview_confirmation"):
        return
    try:
        confirm_import(job, job.created_by)
    except TransitionRefusedError as exc:
        logger.info("data_exchange_tool: job %s not confirmed automatically: %s", job.pk, exc)


signals.preview_finished.connect(auto_confirm, dispatch_uid="data_exchange_tool.auto_confirm")


# --- exports -------------------------------------------------------------------------------


def start_export(
    job_type: type[ExportJob],
    *,
    filters: dict[str, Any] | None = None,
    file_format: str | None = None,
    user: Any = None,
    options: dict[str, Any] | None = None,
    in_process: bool = False,
) -> ExportJob:
    """Check the filters, create an export of ``job_type`` and start it.

    :param filters: the FilterSet's parameters, ``{name: value or [values]}``.
    :param options: ``{"bom": True}`` starts a CSV with a BOM; ``{"delimiter": ";"}`` writes it
        with semicolons (both as European Excel expects).
    :raises ExportFilterError: a filter, the format or the delimiter is not valid; nothing is
        created.
    """
    job = job_type(
        filters=filters or {},
        format=file_format or "",
        options=export_options(options or {}),
        created_by=user if user is not None and user.is_authenticated else None,
    )
    return submit_export(job, in_process=in_process)


def export_options(options: dict[str, Any]) -> dict[str, Any]:
    """Return an export's options with its delimiter checked (``,`` is the default, left out).

    :raises ExportFilterError: the delimiter is not one of ``,`` ``;`` tab ``|``.
    """
    options = dict(options)
    if "delimiter" in options:
        try:
            delimiter = clean_delimiter(str(options["delimiter"] or ""))
        except UploadRefusedError as exc:
            raise ExportFilterError(exc.message, {"delimiter": [exc.message]}) from None
        if delimiter in ("", ","):
            options.pop("delimiter")
        else:
            options["delimiter"] = delimiter
    return options


def submit_export(job: ExportJob, *, in_process: bool = False) -> ExportJob:
    """Save a new export (its filters are checked) and start its task once committed."""
    with Sender(in_process) as sender:
        job.save()
        sender.send(tasks.export_job, job, app_settings.EXPORT_QUEUE, "task_id")
    if in_process:
        job.refresh_from_db()
    return job


def cancel_export(job: ExportJob) -> None:
    """Cancel an export; a running task stops at its next chunk and keeps no file."""
    with transaction.atomic():
        current = recording.locked(job)
        if current is None or not fsm.can_proceed(current.cancel):
            state = current.state if current is not None else ""
            raise TransitionRefusedError(
                _("This export has finished, so it cannot be cancelled."), state
            )
        was_waiting = current.state == ExportState.CREATED
        recording.cancel(current)
        if was_waiting and current.task_id:
            transaction.on_commit(partial(revoke, [current.task_id]))
    job.refresh_from_db()
