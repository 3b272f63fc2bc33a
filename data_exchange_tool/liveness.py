"""
Liveness: is the task working on a job still alive; the jobs whose task died, and failing them.

On PostgreSQL a running task holds its job's lease (``leases``, a session-level advisory lock):
the job lives while a database session holds it, and the moment the worker dies (killed, out of
memory) its session ends and PostgreSQL frees the lease, so a dead job is known at once. Elsewhere
(SQLite, or ``DATA_EXCHANGE_ADVISORY_LOCKS = False``) a job lives while its heartbeat, written with
its progress, is younger than ``DATA_EXCHANGE_HEARTBEAT_TIMEOUT`` (on SQLite a running import
reports through the cache instead, which then says it lives). An import that was confirmed but
that no task has started yet holds no lease: it waits for a worker, and is taken as lost once it
has waited ``HEARTBEAT_TIMEOUT`` seconds.

Who asks: a task claiming its job (a redelivered task starts over only when the earlier attempt is
dead: ``take_over``), ``actions.confirm_import`` (a dead holder of the target's lock is failed and
the confirm goes on), ``locking`` (a refusal never names a dead holder), a worker that starts
(``tasks.restart_dead_jobs`` sends the dead jobs' tasks again) and the reaper below.

``reap_stale_jobs`` fails the previews, imports and exports whose task died, so a person sees that
they must run again and the target's import lock is free. It runs from the
``data_exchange_tool.reap_stale_jobs`` task (celery beat), the ``reap_stale_jobs`` command, and for
one target before each confirm. ``sweep_staging`` drops the staging tables (and converted
workbooks) that partitioned jobs nobody runs any more left behind: the reaper's task and command, a
worker that starts and every partitioned run's end call it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from data_exchange_tool import leases, recording
from data_exchange_tool.conf import app_settings
from data_exchange_tool.imports import staging
from data_exchange_tool.models import ExportJob, ImportJob, ImportJobPart, PartState, Phase
from data_exchange_tool.progress import import_reports_in_cache
from data_exchange_tool.states import RUNNING_STATES, ExportState, JobState

if TYPE_CHECKING:
    Job = ImportJob | ExportJob

logger = logging.getLogger(__name__)

#: What a person reads on a job whose task died, by the state it was in (``{cause}``: why it is
#: taken as dead).
DEAD_TASK_MESSAGES = {
    JobState.PREVIEW_IN_PROGRESS: (
        "The preview's worker stopped responding ({cause}); run the preview again."
    ),
    JobState.IMPORT_IN_PROGRESS: (
        "The import's worker stopped responding ({cause}); nothing was written. Run the preview "
        "again, then confirm, to import the file."
    ),
    ExportState.EXPORT_IN_PROGRESS: (
        "The export's worker stopped responding ({cause}); start the export again."
    ),
}
#: What a person reads on a job whose task died ``{attempts}`` times in a row.
GAVE_UP_MESSAGES = {
    JobState.PREVIEW_IN_PROGRESS: (
        "The preview started {attempts} times and its worker stopped each time (killed, perhaps "
        "out of memory); run the preview again to try once more."
    ),
    JobState.IMPORT_IN_PROGRESS: (
        "The import started {attempts} times and its worker stopped each time (killed, perhaps "
        "out of memory); nothing was written. Run the preview again, then confirm, to try once "
        "more."
    ),
    ExportState.EXPORT_IN_PROGRESS: (
        "The export started {attempts} times and its worker stopped each time (killed, perhaps "
        "out of memory); start the export again to try once more."
    ),
}
#: The counts ``reap_stale_jobs`` returns, by the state of the job it failed.
KINDS = {
    JobState.PREVIEW_IN_PROGRESS: "previews",
    JobState.IMPORT_IN_PROGRESS: "imports",
    ExportState.EXPORT_IN_PROGRESS: "exports",
}
#: Why a job whose lease is free is dead.
SESSION_ENDED = "killed, or its database connection was lost"


def heartbeat_cutoff() -> Any:
    """Return the time before which a heartbeat is too old for a living task."""
    return timezone.now() - timedelta(seconds=float(app_settings.HEARTBEAT_TIMEOUT))


def last_sign_of_life(job: Job) -> Any:
    """Return the job's last heartbeat, or when it was last saved if it never sent one."""
    return job.heartbeat_at or job.updated_at


def waiting_for_task(job: Job) -> bool:
    """Return True for an import confirmed but not started by a task yet (it holds no lease)."""
    return (
        isinstance(job, ImportJob)
        and job.state == JobState.IMPORT_IN_PROGRESS
        and job.import_started_at is None
    )


def death(job: Job) -> str | None:
    """Return why the task of a running job is taken as dead, or None while it lives.

    A partitioned job lives while its parts do (``partition_death``).
    """
    if job.state not in KINDS:
        return None
    held = None if waiting_for_task(job) else leases.held(job)
    if held:
        return None
    partition = partition_death(job)
    if partition is not NOT_PARTITIONED:
        return partition
    if held is not None:
        return SESSION_ENDED
    if last_sign_of_life(job) >= heartbeat_cutoff():
        return None
    if (
        isinstance(job, ImportJob)
        and job.state == JobState.IMPORT_IN_PROGRESS
        and import_reports_in_cache(job)
    ):
        return None
    return f"no heartbeat for {float(app_settings.HEARTBEAT_TIMEOUT):g} s"


#: What ``partition_death`` answers for a job that runs in one task.
NOT_PARTITIONED = "not partitioned"
#: The phase of the parts of a job, by its state.
PART_PHASES = {
    JobState.PREVIEW_IN_PROGRESS: Phase.PREVIEW,
    JobState.IMPORT_IN_PROGRESS: Phase.IMPORT,
}


def job_parts(job: Job) -> list[ImportJobPart]:
    """Return the parts of the running phase of a job (none: it runs in one task)."""
    phase = PART_PHASES.get(job.state)
    if phase is None or not isinstance(job, ImportJob):
        return []
    return list(ImportJobPart.objects.filter(job_id=job.pk, phase=phase).order_by("index"))


def part_death(part: ImportJobPart) -> str | None:
    """Return why a part's task is taken as dead, or None while it lives (or waits for one)."""
    cutoff = heartbeat_cutoff()
    where = f"part {part.index + 1} of {part.count}"
    if part.state == PartState.RUNNING:
        held = leases.held(part)
        if held is not None:
            if held or _moved_on(part):
                return None
            return f"{where}: {SESSION_ENDED}"
        if (part.heartbeat_at or part.updated_at) >= cutoff:
            return None
        return f"{where}: no heartbeat for {float(app_settings.HEARTBEAT_TIMEOUT):g} s"
    if part.state == PartState.PENDING and part.updated_at < cutoff:
        return f"{where} waited {float(app_settings.HEARTBEAT_TIMEOUT):g} s for a worker"
    return None


def _moved_on(part: ImportJobPart) -> bool:
    """Return True when a part read as running has ended, or started again, since it was read.

    A part gives its lease back once its end is committed: a lease found free after the part's
    row was read may be that of a part that ended meanwhile (its row says so now), not of a dead
    one (seen: an apply that waited for the parts gave up on one that had just ended).
    """
    now = type(part)._base_manager.filter(pk=part.pk).values_list("state", "attempts").first()
    return now != (PartState.RUNNING, part.attempts)


def partition_death(job: Job) -> str | None:
    """For a partitioned job: why it is taken as dead, or None while it lives.

    Returns ``NOT_PARTITIONED`` for a job that runs in one task. A partitioned job lives while
    each of its parts is done, running (its lease held) or waiting for a worker, and, once every
    part is done, while the step that ends it (the merge) has had ``HEARTBEAT_TIMEOUT`` seconds
    to start.
    """
    parts = job_parts(job)
    if not parts:
        return NOT_PARTITIONED
    for part in parts:
        cause = part_death(part)
        if cause is not None:
            return cause
    waiting = [p for p in parts if p.state in (PartState.DONE, PartState.FAILED)]
    if len(waiting) == len(parts) and max(p.updated_at for p in parts) < heartbeat_cutoff():
        return "the step that ends its parts did not start"
    return None


def is_alive(job: Job) -> bool:
    """Return True while a task works on the running job (or its import waits for one)."""
    return death(job) is None


def take_over(job: Job, earlier_attempt: bool) -> bool:
    """Make the calling task the job's worker; return False when a live task works on it.

    Call it under the job's row lock, in the claim. On PostgreSQL it takes the job's lease, held
    until the task records the end (``recording``) or returns; elsewhere an earlier attempt is
    dead when its heartbeat is.

    :param earlier_attempt: a task started on the job before (this one is a redelivery).
    """
    if earlier_attempt and partition_death(job) is None:
        return False  # its parts are running: the job lives although nobody holds its lease
    if leases.enabled():
        return leases.hold(job)
    return not (earlier_attempt and is_alive(job))


def take_over_part(part: ImportJobPart) -> bool:
    """Make the calling task the part's worker; False when a live task runs it.

    Call it under the part's row lock. A part that was started and whose task died is taken over
    (the caller counts the attempt).
    """
    if leases.enabled():
        return leases.hold(part)
    return part.state != PartState.RUNNING or part_death(part) is not None


def may_restart(job: Job) -> bool:
    """Return True when a job whose earlier attempt died may start once more."""
    return job.attempts < int(app_settings.MAX_ATTEMPTS)


def dead_jobs(content_type_id: Any = None) -> list[Job]:
    """Return the running jobs whose task died.

    :param content_type_id: only the import jobs of this target (a confirm's own check).
    """
    imports = ImportJob.objects.running().order_by("pk")
    if content_type_id is not None:
        imports = imports.filter(content_type_id=content_type_id)
    jobs: list[Job] = list(imports)
    if content_type_id is None:
        jobs.extend(ExportJob.objects.running().order_by("pk"))
    return [job for job in jobs if not is_alive(job)]


def reap_stale_jobs(content_type_id: Any = None) -> dict[str, int]:
    """Fail running jobs whose task died; return how many previews, imports and exports.

    :param content_type_id: only the import jobs of this target (a confirm's own check).
    """
    counts = dict.fromkeys(KINDS.values(), 0)
    for job in dead_jobs(content_type_id):
        counts[KINDS[job.state]] += _reap(job)
    return counts


def _is_dead(job: Job) -> bool:
    return not is_alive(job)


def _reap(job: Job) -> int:
    """Fail one dead job, unless a task took it over meanwhile (checked under its row lock).

    A row locked by someone else is skipped, not waited for: a task that took the job over
    since it was found dead may hold it for a whole import.
    """
    state = job.state
    message = DEAD_TASK_MESSAGES[state].format(cause=death(job) or SESSION_ENDED)
    with transaction.atomic():
        manager = (job._meta.concrete_model or type(job))._base_manager
        if not manager.select_for_update(skip_locked=True).filter(pk=job.pk).exists():
            return 0
        reaped: ImportJob | ExportJob | None = None
        if isinstance(job, ExportJob):
            reaped = recording.end_export(job, message=message, only_if=_is_dead)
        elif isinstance(job, ImportJob) and state == JobState.PREVIEW_IN_PROGRESS:
            reaped = recording.end_preview(job, message=message, only_if=_is_dead)
        elif isinstance(job, ImportJob):
            reaped = recording.fail_import(job, message, only_if=_is_dead)
    if reaped is None:
        return 0
    logger.warning(
        "data_exchange_tool: failed %s #%s (%s): its task died",
        job._meta.label,
        job.pk,
        KINDS[state][:-1],
    )
    return 1


# --- what jobs nobody runs left behind -----------------------------------------------------

#: How long the sweep waits for a lock on a staging table before leaving it to the next sweep.
SWEEP_LOCK_TIMEOUT = "2s"


def sweep_staging() -> int:
    """Drop the staging tables, and delete the converted workbooks, that jobs nobody runs any
    more left behind; return for how many jobs. Nothing but on PostgreSQL.

    A job's run drops its staging when it ends, but a worker killed between the commit of that
    end and the drop (or a part that created its tables after it, or a job deleted meanwhile)
    leaves them. One query lists the jobs that have staging tables (``dxt_stage_<job pk>_...``),
    before the jobs are read, so the tables of a run that starts later are not among them; one
    query finds which of those jobs run. The others (finished, or deleted) are swept one by one
    under their row lock (``_sweep``). Only the files this database names (its parts' sources,
    the name noted on the job) are deleted, never a file a listing of the storage found:
    another deployment may share it.
    """
    pks = staging.staged_jobs()
    if not pks:
        return 0
    running = ImportJob._base_manager.filter(pk__in=pks, state__in=RUNNING_STATES)
    swept = 0
    for pk in sorted(pks - set(running.values_list("pk", flat=True))):
        swept += _sweep(pk)
    return swept


def _sweep(pk: int) -> int:
    """Sweep one job's leftovers under its row lock, unless it runs (again) or a part of it
    still does; return 1 when swept.

    The row lock keeps the job from starting again meanwhile (starting changes its state under
    the same lock); a row locked by someone else is left to the next sweep, as is a table
    another session holds (``SWEEP_LOCK_TIMEOUT``).
    """
    try:
        with transaction.atomic():
            job = ImportJob._base_manager.select_for_update(skip_locked=True).filter(pk=pk).first()
            if job is None and ImportJob._base_manager.filter(pk=pk).exists():
                return 0  # locked: its task is ending it, or someone changes it
            if job is not None and (job.state in RUNNING_STATES or _parts_run(job)):
                return 0
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{SWEEP_LOCK_TIMEOUT}'")
            staging.drop_all(pk)  # its tables read again: a part dead since may have added some
    except DatabaseError:
        logger.warning("data_exchange_tool: the staging of job %s is left", pk, exc_info=True)
        return 0
    logger.info("data_exchange_tool: swept the staging job %s left behind", pk)
    return 1


def _parts_run(job: ImportJob) -> bool:
    """Return True when a part of the job runs, or may still start (a part claimed before the
    job ended keeps running until its next batch)."""
    waiting = (PartState.PENDING, PartState.RUNNING)
    parts = ImportJobPart.objects.filter(job_id=job.pk, state__in=waiting)
    return any(part_death(part) is None for part in parts)
