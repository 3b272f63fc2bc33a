"""The lock per target against real PostgreSQL: racing confirms, cancel, idempotent tasks."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from data_exchange_tool import actions
from data_exchange_tool.exceptions import JobLockedError
from data_exchange_tool.locking import confirm_refusal
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import JobState
from data_exchange_tool.tasks import import_job, preview_job
from example_project.demo.models import StockRecord, StockRecordImportJob
from tests.helpers import create_job, csv_bytes, make_catalogue, stock_rows
from tests.integration.conftest import keep_tasks_here, wait_for
from tests.testapp.models import SlowStockRecordImportJob

pytestmark = pytest.mark.django_db(transaction=True)


def previewed_jobs(count: int) -> list[ImportJob]:
    """Jobs of two types for one target, ready to confirm (no task sent)."""
    content_type = ContentType.objects.get_for_model(StockRecord)
    jobs = []
    for i in range(count):
        job_type = StockRecordImportJob if i % 2 else SlowStockRecordImportJob
        jobs.append(
            job_type(
                job_type=job_type._meta.label_lower,
                content_type=content_type,
                state=JobState.PREVIEW_SUCCEEDED,
                file_name=f"file-{i}.csv",
                total_rows=1,
                new_rows=1,
            )
        )
    return ImportJob.objects.bulk_create(jobs)


@pytest.fixture
def no_import_task(monkeypatch):
    """Keep import tasks from the worker: a file-less holder's import would fail at once and
    free the lock before the test looks at it. The lock itself lives in the database."""
    keep_tasks_here(monkeypatch, import_job)  # the confirms run in threads: patch every copy


def test_racing_confirms_of_one_target_start_exactly_one_import(no_import_task):
    jobs = previewed_jobs(8)
    barrier = threading.Barrier(len(jobs))
    outcomes: dict[int, object] = {}

    def confirm(job: ImportJob) -> None:
        try:
            barrier.wait(timeout=10)
            actions.confirm_import(job)
            outcomes[job.pk] = "started"
        except JobLockedError as exc:
            outcomes[job.pk] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    started = [pk for pk, outcome in outcomes.items() if outcome == "started"]
    assert len(outcomes) == len(jobs)
    assert len(started) == 1
    refusals = [o for o in outcomes.values() if isinstance(o, JobLockedError)]
    assert len(refusals) == len(jobs) - 1
    assert all(r.holder_pk == started[0] for r in refusals)
    assert all(f"Job #{started[0]}" in str(r) for r in refusals)
    assert ImportJob.objects.filter(state=JobState.IMPORT_IN_PROGRESS).count() == 1


def test_refusal_names_the_holder_and_its_user(no_import_task):
    holder, waiting = previewed_jobs(2)
    alice = get_user_model().objects.create_user("alice")
    actions.confirm_import(holder, alice)
    with pytest.raises(JobLockedError) as refused:
        actions.confirm_import(waiting)
    assert f"Job #{holder.pk}" in str(refused.value)
    assert "started by alice" in str(refused.value)
    assert confirm_refusal(waiting) == str(refused.value)


def test_cancel_stops_a_running_import_and_writes_nothing(celery_worker):
    make_catalogue()
    job = create_job(csv_bytes(stock_rows(3000)), job_type=SlowStockRecordImportJob)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).state == JobState.PREVIEW_SUCCEEDED, 60)
    job.refresh_from_db()
    actions.confirm_import(job)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).progress_done > 0, 30, interval=0.05)
    actions.cancel_import(job)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).state != JobState.IMPORT_IN_PROGRESS, 60)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    assert StockRecord.objects.count() == 0
    # The lock is free again: another job of the target can be confirmed.
    (other,) = previewed_jobs(1)
    actions.confirm_import(other)


def test_tasks_delivered_twice_change_nothing(celery_worker):
    make_catalogue()
    job = create_job(csv_bytes(stock_rows(10)))
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).state == JobState.PREVIEW_SUCCEEDED)
    actions.confirm_import(job)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).state == JobState.IMPORT_SUCCEEDED)
    job.refresh_from_db()
    before = (job.updated_at, job.import_finished_at, job.preview_finished_at)

    preview_job.apply_async((job.pk,), queue=job.preview_queue)
    import_job.apply_async((job.pk,), queue=job.import_queue)
    marker = create_job(csv_bytes(stock_rows(1, start=500)))  # queued behind the duplicates
    wait_for(lambda: ImportJob.objects.get(pk=marker.pk).state == JobState.PREVIEW_SUCCEEDED)

    job.refresh_from_db()
    assert (job.updated_at, job.import_finished_at, job.preview_finished_at) == before
    assert job.state == JobState.IMPORT_SUCCEEDED
    assert StockRecord.objects.count() == 10
