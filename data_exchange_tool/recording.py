"""
Recording how a job's work ended: its transition, under the job's row lock, and its signal.

A task records what its run found (a preview's counts, an import's failure, an export's file), the
reaper records that a dead task's job failed, and an action records a cancel. Each function here
reads the job again under a row lock and does nothing when the job has moved on meanwhile (it was
cancelled, reaped, or started again by a newer attempt: ``attempts`` differs), so a late recorder
never overwrites a newer state; ``only_if`` adds a condition checked under the same lock. The
matching signal (``data_exchange_tool.signals``) is sent once the transaction commits, never for a
change that rolled back.

A task gives its job's lease (``leases``) back here, under the row lock and before the end
commits: whoever then reads the job under its row lock sees either a live lease or the end, never
a job in progress that nobody holds, so a re-run or a confirm right after the end cannot take the
job for dead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db import transaction

from data_exchange_tool import leases, signals
from data_exchange_tool.exceptions import ImportCancelledError
from data_exchange_tool.imports import staging
from data_exchange_tool.models import ExportJob, ImportJob, ImportJobPreviewRow, ImportJobRowError
from data_exchange_tool.states import ExportState, JobState

if TYPE_CHECKING:
    from data_exchange_tool.exports.pipeline import ExportResult
    from data_exchange_tool.models.results import RunResult

Job = TypeVar("Job", ImportJob, ExportJob)
Condition = Callable[[Any], bool] | None


def locked(job: Job) -> Job | None:
    """Return the job read again under a row lock (inside the caller's transaction), or None."""
    manager = (job._meta.concrete_model or type(job))._base_manager
    return cast("Job | None", manager.select_for_update().filter(pk=job.pk).first())


def _current(job: Job, state: str, only_if: Condition) -> Job | None:
    current = locked(job)
    if current is None or current.state != state or current.attempts != job.attempts:
        return None
    if only_if is not None and not only_if(current):
        return None
    leases.release(current)
    return current


def _send_on_commit(signal: Any, job: Any, **kwargs: Any) -> None:
    transaction.on_commit(partial(signal.send, type(job), job=job, **kwargs))


def end_preview(
    job: ImportJob, result: RunResult | None = None, message: str = "", only_if: Condition = None
) -> ImportJob | None:
    """Record a finished (``result``) or failed (``message``) preview; return the job or None."""
    with transaction.atomic():
        current = _current(job, JobState.PREVIEW_IN_PROGRESS, only_if)
        if current is None:
            return None
        current.file_encoding = job.file_encoding
        current.file_delimiter = job.file_delimiter
        current.file_headers = job.file_headers
        if result is not None:
            current.succeed_preview(result)
        else:
            current.fail_preview(message)
        current.save()
        _forget_parts(current)
        _send_on_commit(signals.preview_finished, current, result=result, message=message)
    return current


def _forget_parts(job: ImportJob) -> None:
    """Drop what the parts of a partitioned run left (rows of a part stopped late, staging)."""
    ImportJobRowError.objects.filter(job=job, part__isnull=False).delete()
    ImportJobPreviewRow.objects.filter(job=job, part__isnull=False).delete()
    transaction.on_commit(partial(staging.drop_all, job.pk))


def succeed_import(job: ImportJob, result: RunResult) -> None:
    """Inside the import's transaction: end the import, unless it was cancelled meanwhile."""
    current = _current(job, JobState.IMPORT_IN_PROGRESS, None)
    if current is None:
        raise ImportCancelledError(job.pk)
    current.succeed_import(result)
    current.save()
    _send_on_commit(signals.import_finished, current, result=result)


def fail_import(
    job: ImportJob,
    message: str,
    errors: Iterable[ImportJobRowError] = (),
    only_if: Condition = None,
) -> ImportJob | None:
    """After the rollback: record why the import failed and the rows that made it fail."""
    with transaction.atomic():
        current = _current(job, JobState.IMPORT_IN_PROGRESS, only_if)
        if current is None:
            return None
        current.fail_import(message)
        current.save()
        ImportJobRowError.objects.bulk_create(errors)
        transaction.on_commit(partial(staging.drop_all, job.pk))
        _send_on_commit(signals.import_failed, current, message=message)
    return current


def end_export(
    job: ExportJob,
    result: ExportResult | None = None,
    message: str = "",
    only_if: Condition = None,
) -> ExportJob | None:
    """Record a written file (``result``) or a failed export (``message``)."""
    with transaction.atomic():
        current = _current(job, ExportState.EXPORT_IN_PROGRESS, only_if)
        if current is None:
            return None
        if result is not None:
            current.succeed_export(result.name, result.file_name, result.size, result.rows)
            _send_on_commit(signals.export_finished, current)
        else:
            current.fail_export(message)
            _send_on_commit(signals.export_failed, current, message=message)
        current.save()
    return current


def cancel(job: Job) -> Job:
    """Inside the caller's transaction: cancel a locked, fresh job and send ``job_cancelled``."""
    job.cancel()
    job.save()
    if isinstance(job, ImportJob):
        transaction.on_commit(partial(staging.drop_all, job.pk))
    _send_on_commit(signals.job_cancelled, job)
    return job


def cancel_running_import(job: ImportJob) -> None:
    """Record that a running import stopped on a cancel: cancel the job if it is still
    ``IMPORT_IN_PROGRESS`` (under its row lock, in a transaction of its own or the caller's)."""
    with transaction.atomic():
        current = locked(job)
        if current is not None and current.state == JobState.IMPORT_IN_PROGRESS:
            cancel(current)
