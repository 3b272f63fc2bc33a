"""
Killed work finishes or fails by itself (fast layer: SQLite, where liveness is the heartbeat).

A task delivered again for a job whose earlier attempt died starts it over; one whose earlier
attempt lives leaves it alone; after ``MAX_ATTEMPTS`` the job fails with the reason. A worker that
starts sends the dead jobs' tasks again. PostgreSQL's leases are tested against a real database in
``tests/integration/test_liveness.py`` and with killed workers in ``test_dead_workers.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from data_exchange_tool import actions, leases, liveness, recording, tasks
from data_exchange_tool.exceptions import TransitionRefusedError
from data_exchange_tool.locking import confirm_refusal, lock_holder
from data_exchange_tool.models import ExportJob, ImportJob, ImportJobRowError, Phase
from data_exchange_tool.states import ExportState, JobState
from example_project.demo.models import StockRecord, StockRecordImportJob
from tests.helpers import create_job, csv_bytes, new_export, stock_rows

pytestmark = pytest.mark.django_db

S = JobState


def died(job, seconds: float = 3600) -> None:
    """Make the job's task look dead: its heartbeat (and last save) long ago."""
    long_ago = timezone.now() - timedelta(seconds=seconds)
    type(job)._base_manager.filter(pk=job.pk).update(heartbeat_at=long_ago, updated_at=long_ago)


def fresh(job):
    return type(job)._base_manager.get(pk=job.pk)


def started_preview(content: bytes = b""):
    """A job whose preview task claimed it (attempt 1) and was then, say, killed."""
    job = create_job(content or csv_bytes(stock_rows(3)))  # not committed: no task sent
    assert tasks.claim_preview(job.pk, "first") is not None
    return fresh(job)


def started_import(run_on_commit, rows: int = 5):
    """A confirmed job whose import task claimed it (attempt 1) and was then, say, killed."""
    job = create_job(csv_bytes(stock_rows(rows)), state=S.PREVIEW_SUCCEEDED, total_rows=rows)
    actions.confirm_import(fresh(job))  # not committed: the import task is not sent
    assert tasks.claim_import(job.pk, "first") is not None
    return fresh(job)


# --- a task delivered again --------------------------------------------------------------------


def test_a_redelivered_preview_whose_task_died_runs_again_from_the_start(catalogue):
    job = started_preview()
    died(job)
    tasks.preview_job.apply((job.pk,))
    job = fresh(job)
    assert (job.state, job.total_rows, job.attempts) == (S.PREVIEW_SUCCEEDED, 3, 2)


def test_a_redelivered_preview_whose_task_lives_is_left_alone(catalogue):
    job = started_preview()
    before = fresh(job)
    tasks.preview_job.apply((job.pk,))
    after = fresh(job)
    assert (after.state, after.attempts, after.updated_at) == (
        S.PREVIEW_IN_PROGRESS,
        1,
        before.updated_at,
    )


def test_a_redelivered_import_whose_task_died_writes_every_row_once(catalogue, run_on_commit):
    job = started_import(run_on_commit, rows=7)
    died(job)
    tasks.import_job.apply((job.pk,))
    job = fresh(job)
    assert (job.state, job.new_rows, job.attempts) == (S.IMPORT_SUCCEEDED, 7, 2)
    assert StockRecord.objects.count() == 7


def test_a_redelivered_import_whose_task_lives_is_left_alone(catalogue, run_on_commit):
    job = started_import(run_on_commit)
    started_at = job.import_started_at
    tasks.import_job.apply((job.pk,))
    job = fresh(job)
    assert (job.state, job.attempts, job.import_started_at) == (
        S.IMPORT_IN_PROGRESS,
        1,
        started_at,
    )
    assert StockRecord.objects.count() == 0


def test_a_redelivered_export_whose_task_died_runs_again(catalogue):
    job = new_export()
    assert tasks.claim_export(job.pk, "first") is not None
    died(job)
    tasks.export_job.apply((job.pk,))
    job = fresh(job)
    assert (job.state, job.attempts) == (ExportState.EXPORT_SUCCEEDED, 2)


def test_an_import_restarting_forgets_the_row_errors_of_its_dead_attempt(catalogue, run_on_commit):
    job = started_import(run_on_commit)
    ImportJobRowError.objects.create(job=job, phase=Phase.IMPORT, row_number=2, message="old")
    died(job)
    tasks.import_job.apply((job.pk,))
    assert not ImportJobRowError.objects.filter(job=job, phase=Phase.IMPORT).exists()


@pytest.mark.parametrize("kind", ["preview", "import", "export"])
def test_a_task_that_died_max_attempts_times_fails_the_job_with_the_reason(
    catalogue, run_on_commit, settings, kind
):
    settings.DATA_EXCHANGE_MAX_ATTEMPTS = 2
    if kind == "preview":
        job, task, failed = started_preview(), tasks.preview_job, S.PREVIEW_FAILED
    elif kind == "import":
        job, task, failed = started_import(run_on_commit), tasks.import_job, S.IMPORT_FAILED
    else:
        job, task, failed = new_export(), tasks.export_job, ExportState.EXPORT_FAILED
        tasks.claim_export(job.pk, "first")
    type(job)._base_manager.filter(pk=job.pk).update(attempts=2)  # two attempts died
    died(job)
    task.apply((job.pk,))
    job = fresh(job)
    assert job.state == failed
    assert job.attempts == 2
    assert job.message.startswith(f"The {kind} started 2 times and its worker stopped each time")
    assert StockRecord.objects.count() == 0


def test_a_late_recording_of_a_dead_attempt_changes_nothing(catalogue):
    first = started_preview()
    died(first)
    second = tasks.claim_preview(first.pk, "second")
    assert second.attempts == 2
    assert recording.end_preview(first, message="late") is None
    assert fresh(first).state == S.PREVIEW_IN_PROGRESS


def test_tasks_ask_to_be_delivered_again_when_their_worker_is_lost():
    for task in (tasks.preview_job, tasks.import_job, tasks.export_job):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True


# --- a worker that starts ----------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch):
    """Record the tasks sent: ``[(task name, job pk, queue, task id)]``."""
    calls = []
    for task in (tasks.preview_job, tasks.import_job, tasks.export_job):

        def fake(args, _name=task.name, queue=None, task_id=None, **options):
            calls.append((_name, args[0], queue, task_id))

        monkeypatch.setattr(task, "apply_async", fake)
    return calls


def test_a_worker_that_starts_sends_the_dead_jobs_tasks_again(
    catalogue, run_on_commit, sent, settings
):
    settings.DATA_EXCHANGE_EXPORT_QUEUE = "exports"
    dead_preview = started_preview()
    live_preview = started_preview()
    dead_export = new_export()
    tasks.claim_export(dead_export.pk, "first")
    dead_import = started_import(run_on_commit)
    died(dead_preview)
    died(dead_import)
    died(dead_export)
    sent.clear()

    tasks.restart_dead_jobs_when_ready()

    assert {(name, pk, queue) for name, pk, queue, _ in sent} == {
        ("data_exchange_tool.preview_job", dead_preview.pk, "dxt_test_preview"),
        ("data_exchange_tool.import_job", dead_import.pk, "dxt_test_import"),
        ("data_exchange_tool.export_job", dead_export.pk, "exports"),
    }
    assert live_preview.pk not in {pk for _, pk, _, _ in sent}
    ids = {name.rpartition(".")[2]: task_id for name, _, _, task_id in sent}
    assert fresh(dead_preview).preview_task_id == ids["preview_job"]
    assert fresh(dead_import).import_task_id == ids["import_job"]
    assert fresh(dead_export).task_id == ids["export_job"]


def test_an_import_waiting_for_its_worker_is_sent_again_only_once_it_waited_too_long(
    catalogue, run_on_commit, sent, settings
):
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 60
    job = create_job(csv_bytes(stock_rows(2)), state=S.PREVIEW_SUCCEEDED, total_rows=2)
    actions.confirm_import(fresh(job))  # not committed: the task is "lost", never sent
    sent.clear()
    assert tasks.restart_dead_jobs() == {"previews": 0, "imports": 0, "exports": 0}
    died(job, seconds=61)
    assert tasks.restart_dead_jobs() == {"previews": 0, "imports": 1, "exports": 0}


def test_a_worker_starts_even_when_the_database_cannot_be_read(monkeypatch, caplog):
    def broken():
        raise RuntimeError("database down")

    monkeypatch.setattr(liveness, "dead_jobs", broken)
    tasks.restart_dead_jobs_when_ready()
    assert "could not look for jobs left by dead workers" in caplog.text


# --- the lock per target and a dead holder -----------------------------------------------------


def test_a_dead_holder_is_no_reason_to_refuse_and_the_confirm_fails_it(catalogue, run_on_commit):
    holder = started_import(run_on_commit)
    with run_on_commit():
        waiting = create_job(csv_bytes(stock_rows(1, start=50)))
    waiting = fresh(waiting)
    assert lock_holder(waiting) == holder
    died(holder)
    assert lock_holder(waiting) is None
    assert lock_holder(waiting, alive_only=False) == holder
    assert confirm_refusal(waiting) is None
    actions.confirm_import(waiting)
    assert waiting.state == S.IMPORT_IN_PROGRESS
    holder = fresh(holder)
    assert holder.state == S.IMPORT_FAILED
    assert "The import's worker stopped responding (no heartbeat for 900 s)" in holder.message
    assert "Run the preview again, then confirm" in holder.message


def test_reaped_messages_say_which_worker_stopped(catalogue, run_on_commit):
    preview = started_preview()
    imported = started_import(run_on_commit)
    export = new_export()
    tasks.claim_export(export.pk, "first")
    for job in (preview, imported, export):
        died(job)
    assert liveness.reap_stale_jobs() == {"previews": 1, "imports": 1, "exports": 1}
    assert fresh(preview).message.startswith("The preview's worker stopped responding")
    assert fresh(imported).message.startswith("The import's worker stopped responding")
    assert fresh(export).message.startswith("The export's worker stopped responding")


def test_without_postgresql_there_are_no_leases(catalogue):
    job = started_preview()
    assert leases.enabled() is False
    assert leases.held(job) is None
    assert leases.hold(job) is True
    leases.release(job)  # nothing to give back


def test_lease_keys_wrap_ids_into_a_signed_int4():
    job = ImportJob(pk=2**31 + 5)
    namespace, second = leases.key(job)
    assert namespace == leases.NAMESPACES["data_exchange_tool.importjob"]
    assert -(2**31) <= second < 2**31
    assert leases.key(ExportJob(pk=5))[0] != namespace


# --- a failed import is previewed and confirmed again -------------------------------------------


def test_a_failed_import_can_be_previewed_and_confirmed_again(
    catalogue, run_on_commit, monkeypatch
):
    with run_on_commit():
        job = create_job(csv_bytes(stock_rows(4)))

    def boom(self, result):
        raise RuntimeError("disk full")

    monkeypatch.setattr(StockRecordImportJob, "after_import", boom)
    with run_on_commit():
        actions.confirm_import(fresh(job))
    job = fresh(job)
    assert job.state == S.IMPORT_FAILED
    assert job.message.endswith(
        "Run the preview again (with a corrected file if needed), then confirm."
    )
    monkeypatch.undo()

    with run_on_commit():
        actions.rerun_preview(job, ContentFile(csv_bytes(stock_rows(5)), name="again.csv"))
    job = fresh(job)
    assert (job.state, job.total_rows, job.message) == (S.PREVIEW_SUCCEEDED, 5, "")
    assert job.import_started_at is None
    with run_on_commit():
        actions.confirm_import(job)
    job = fresh(job)
    assert (job.state, job.new_rows, job.attempts) == (S.IMPORT_SUCCEEDED, 5, 1)
    assert StockRecord.objects.count() == 5


@pytest.mark.parametrize("state", [S.IMPORT_SUCCEEDED, S.CANCELLED, S.IMPORT_IN_PROGRESS])
def test_other_ended_jobs_still_refuse_a_rerun(catalogue, state):
    job = create_job(csv_bytes(stock_rows(1)), state=state)
    with pytest.raises(TransitionRefusedError, match="or after a failed import"):
        actions.rerun_preview(job)


def test_export_jobs_know_attempts_too(catalogue):
    job = new_export()
    assert job.attempts == 0
    tasks.claim_export(job.pk, "first")
    assert ExportJob.objects.get(pk=job.pk).attempts == 1
