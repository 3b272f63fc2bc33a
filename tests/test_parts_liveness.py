"""
A partitioned job lives through its parts (fast layer: SQLite, where liveness is the heartbeat).

Partitioning itself needs PostgreSQL (``tests/integration/test_parts.py``); here parts are made by
hand to check how liveness and the tasks read them, and that SQLite keeps the single task.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from data_exchange_tool import liveness, tasks
from data_exchange_tool.models import ImportJob, ImportJobPart, PartState, Phase
from data_exchange_tool.states import JobState
from tests.helpers import create_job, csv_bytes, stock_rows

pytestmark = pytest.mark.django_db

S = JobState


def long_ago(seconds: float = 3600):
    return timezone.now() - timedelta(seconds=seconds)


def add_parts(job: ImportJob, phase: str, states: tuple[str, ...]) -> None:
    """Record parts of ``phase`` for ``job``, in ``states``, ten bytes each."""
    for index, state in enumerate(states):
        ImportJobPart.objects.create(
            job=job,
            phase=phase,
            index=index,
            count=len(states),
            start=index * 10,
            end=None if index == len(states) - 1 else (index + 1) * 10,
            state=state,
            heartbeat_at=timezone.now(),
        )


def partitioned_preview(*states: str) -> ImportJob:
    """A job whose lead cut its preview into parts in ``states`` and returned."""
    job = create_job(csv_bytes(stock_rows(3)))
    assert tasks.claim_preview(job.pk, "first") is not None
    ImportJob._base_manager.filter(pk=job.pk).update(heartbeat_at=long_ago(), updated_at=long_ago())
    add_parts(job, Phase.PREVIEW, states)
    return ImportJob.objects.get(pk=job.pk)


def test_a_job_whose_parts_run_or_wait_lives_although_its_own_heartbeat_is_old():
    job = partitioned_preview(PartState.DONE, PartState.RUNNING, PartState.PENDING)
    assert liveness.death(job) is None
    assert liveness.dead_jobs() == []
    # A redelivered preview task leaves it alone: its parts are running.
    assert tasks.claim_preview(job.pk, "again") is None
    assert ImportJob.objects.get(pk=job.pk).attempts == 1


def test_a_part_whose_heartbeat_stopped_makes_its_job_dead():
    job = partitioned_preview(PartState.DONE, PartState.RUNNING)
    ImportJobPart.objects.filter(job=job, index=1).update(heartbeat_at=long_ago())
    assert liveness.death(job) == "part 2 of 2: no heartbeat for 900 s"
    assert [j.pk for j in liveness.dead_jobs()] == [job.pk]


def test_a_part_that_waited_too_long_for_a_worker_makes_its_job_dead():
    job = partitioned_preview(PartState.PENDING)
    ImportJobPart.objects.filter(job=job).update(updated_at=long_ago())
    assert liveness.death(job) == "part 1 of 1 waited 900 s for a worker"


def test_parts_all_done_wait_for_their_merge_then_are_dead():
    job = partitioned_preview(PartState.DONE, PartState.DONE)
    assert liveness.death(job) is None
    ImportJobPart.objects.filter(job=job).update(updated_at=long_ago())
    assert liveness.death(job) == "the step that ends its parts did not start"


def test_a_part_is_claimed_once_and_taken_over_only_when_its_task_died():
    job = partitioned_preview(PartState.PENDING, PartState.PENDING)
    part = ImportJobPart.objects.get(job=job, index=0)
    claimed = tasks.claim_part(part.pk)
    assert claimed is not None
    part.refresh_from_db()
    assert (part.state, part.attempts) == (PartState.RUNNING, 1)
    assert tasks.claim_part(part.pk) is None  # its heartbeat is fresh: it lives
    ImportJobPart.objects.filter(pk=part.pk).update(heartbeat_at=long_ago())
    assert tasks.claim_part(part.pk) is not None
    part.refresh_from_db()
    assert part.attempts == 2


def test_a_part_of_a_job_that_moved_on_does_nothing():
    job = partitioned_preview(PartState.PENDING)
    ImportJob._base_manager.filter(pk=job.pk).update(state=S.CANCELLED)
    assert tasks.claim_part(ImportJobPart.objects.get(job=job).pk) is None


@override_settings(DATA_EXCHANGE_PART_ROWS=1)
def test_sqlite_keeps_the_single_task():
    job = create_job(csv_bytes(stock_rows(30)))
    assert tasks.claim_preview(job.pk, "first") is not None
    assert tasks.plan_parts(ImportJob.objects.get(pk=job.pk)) is None
    assert tasks.partition(ImportJob.objects.get(pk=job.pk), Phase.PREVIEW) is False


def partitioned_import(*states: str) -> ImportJob:
    """A job whose import was cut into parts in ``states``."""
    job = partitioned_preview()
    ImportJob._base_manager.filter(pk=job.pk).update(
        state=S.IMPORT_IN_PROGRESS, import_started_at=timezone.now()
    )
    add_parts(job, Phase.IMPORT, states)
    return ImportJob.objects.get(pk=job.pk)


def test_the_apply_starts_while_the_last_parts_run_or_wait_never_once_one_died():
    from data_exchange_tool.tasks.parts import _claim_finish

    job = partitioned_import(PartState.DONE, PartState.RUNNING)
    last = ImportJobPart.objects.filter(job=job, index=1)
    assert _claim_finish(job.pk, Phase.IMPORT) is None  # a part runs: not the end yet
    assert _claim_finish(job.pk, Phase.IMPORT, early=True) is not None  # it applies meanwhile
    last.update(heartbeat_at=long_ago())
    assert _claim_finish(job.pk, Phase.IMPORT, early=True) is None  # its task died
    last.update(state=PartState.PENDING, heartbeat_at=timezone.now())
    # A part waiting for a worker: the apply starts, and runs it itself if no worker has
    # (``PartRunner``; it was not started while the part waited for a worker when it could not).
    assert _claim_finish(job.pk, Phase.IMPORT) is None  # not the end yet
    assert _claim_finish(job.pk, Phase.IMPORT, early=True) is not None
    last.update(state=PartState.FAILED)
    assert _claim_finish(job.pk, Phase.IMPORT, early=True) is None
    last.update(state=PartState.DONE)
    assert _claim_finish(job.pk, Phase.IMPORT) is not None
    ImportJob._base_manager.filter(pk=job.pk).update(state=S.CANCELLED)
    assert _claim_finish(job.pk, Phase.IMPORT, early=True) is None


def test_a_part_that_ends_sends_again_the_parts_whose_task_died(
    monkeypatch, django_capture_on_commit_callbacks
):
    """A part the apply's runner ran has no message left once its worker died: the next part of
    the job to end sends it again (a part still running, or waiting, is left alone)."""
    from data_exchange_tool.models import RunResult
    from data_exchange_tool.tasks import parts as part_tasks

    sent = []
    monkeypatch.setattr(
        part_tasks.import_part, "apply_async", lambda args, **options: sent.append(args[0])
    )
    job = partitioned_import(
        PartState.RUNNING, PartState.RUNNING, PartState.PENDING, PartState.RUNNING
    )
    dead = ImportJobPart.objects.get(job=job, index=0)
    ImportJobPart.objects.filter(pk=dead.pk).update(heartbeat_at=long_ago())
    ending = ImportJobPart.objects.get(job=job, index=3)
    ending.attempts = 0  # as claimed (the row's attempts)
    with django_capture_on_commit_callbacks(execute=True):
        part_tasks._part_done(job, ending, RunResult(), 10)
    assert ImportJobPart.objects.get(pk=ending.pk).state == PartState.DONE
    assert sent == [dead.pk]
    assert ImportJobPart.objects.get(pk=dead.pk).task_id  # the new task's id

    sent.clear()  # an apply delivered again, whose claim fails (a part died), does the same
    part_tasks._resend_dead_parts(job.pk, Phase.IMPORT)
    assert sent == [dead.pk]
    ImportJob._base_manager.filter(pk=job.pk).update(state=S.IMPORT_FAILED)
    sent.clear()
    part_tasks._resend_dead_parts(job.pk, Phase.IMPORT)  # not for a job that ended
    assert sent == []


# --- the sweep of what finished jobs left --------------------------------------------------


def test_the_sweep_does_nothing_on_sqlite():
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from data_exchange_tool.imports import staging
    from data_exchange_tool.storage import get_storage

    job = create_job(csv_bytes(stock_rows(2)))
    ImportJob._base_manager.filter(pk=job.pk).update(state=S.IMPORT_SUCCEEDED)
    source = get_storage().save(f"data_exchange/parts/{job.pk}.csv", ContentFile(b"sku\r\n"))
    add_parts(job, Phase.IMPORT, (PartState.DONE,))
    ImportJobPart.objects.filter(job=job).update(source=source)
    try:
        assert liveness.sweep_staging() == 0
        out = io.StringIO()
        call_command("reap_stale_jobs", stdout=out)
        assert out.getvalue().endswith(
            "Swept the staging tables and converted workbooks of 0 finished or deleted job(s).\n"
        )
        tasks.reap_stale_jobs()
        tasks.restart_dead_jobs_when_ready()
        assert get_storage().exists(source)
        assert staging.staged_jobs() == set()
        with CaptureQueriesContext(connection) as queries:
            ImportJob._base_manager.get(pk=job.pk).delete()
        assert not any("source" in q["sql"] for q in queries.captured_queries)
        assert get_storage().exists(source)  # a job that was never cut: nothing to read
    finally:
        get_storage().delete(source)
