"""
Leases against real PostgreSQL, in this process: a job lives while a database session holds its
advisory lock, whatever its heartbeat says, and is known dead the moment that session ends.

A session that ends is played here by a thread whose connection closes (what PostgreSQL sees of a
killed worker); ``test_dead_workers.py`` kills real worker processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from data_exchange_tool import actions, leases, liveness, recording, tasks
from data_exchange_tool.exceptions import ImportCancelledError
from data_exchange_tool.imports.pipeline import PreviewRun
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord, StockRecordImportJob
from tests.helpers import csv_bytes, make_catalogue, stock_rows
from tests.integration.conftest import keep_tasks_here

pytestmark = pytest.mark.django_db(transaction=True)

S = JobState


@pytest.fixture(autouse=True)
def no_tasks_sent(monkeypatch):
    """Tasks are run here, by hand: none is sent to a queue a later test's worker consumes."""
    keep_tasks_here(monkeypatch, tasks.preview_job, tasks.import_job, tasks.export_job)


def in_another_session(function: Callable[[], Any]) -> Any:
    """Run ``function`` on a connection of its own, closed when it returns (the session ends)."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(function())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert result, "the other session failed"
    return result[0]


def stored_job(state: str = S.CREATED, rows: int = 3, **fields: Any) -> ImportJob:
    """A job with a file, saved only (no task sent)."""
    job = StockRecordImportJob(
        file=ContentFile(csv_bytes(stock_rows(rows)), name="stock.csv"),
        file_name="stock.csv",
        state=state,
        total_rows=rows if state != S.CREATED else 0,
        **fields,
    )
    job.save()
    return job


def fresh(job: ImportJob) -> ImportJob:
    return ImportJob.objects.get(pk=job.pk)


def long_ago(job: ImportJob) -> None:
    old = timezone.now() - timedelta(days=1)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=old, updated_at=old)


def test_a_claimed_job_lives_for_every_session_until_its_end_is_recorded(settings):
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 1
    job = tasks.claim_preview(stored_job().pk, "q")
    long_ago(job)  # the heartbeat would call it dead: the lease decides
    assert in_another_session(lambda: liveness.is_alive(fresh(job)))
    assert liveness.reap_stale_jobs() == {"previews": 0, "imports": 0, "exports": 0}
    recording.end_preview(job, message="done")
    assert not in_another_session(lambda: leases.held(job))
    assert fresh(job).state == S.PREVIEW_FAILED


def test_a_job_whose_session_ended_is_dead_at_once_and_a_redelivery_starts_it_over():
    make_catalogue()
    job = stored_job()
    claimed = in_another_session(lambda: tasks.claim_preview(job.pk, "first"))
    assert claimed.attempts == 1
    # The session that held the lease is gone; the heartbeat is fresh, and says nothing.
    assert liveness.death(fresh(job)) == liveness.SESSION_ENDED
    tasks.preview_job.apply((job.pk,))
    job = fresh(job)
    assert (job.state, job.total_rows, job.attempts) == (S.PREVIEW_SUCCEEDED, 3, 2)
    assert not leases.held(job)


def test_the_reaper_fails_a_job_whose_session_ended_at_once():
    job = stored_job()
    in_another_session(lambda: tasks.claim_preview(job.pk, "first"))
    assert liveness.reap_stale_jobs() == {"previews": 1, "imports": 0, "exports": 0}
    job = fresh(job)
    assert job.state == S.PREVIEW_FAILED
    assert job.message == (
        "The preview's worker stopped responding (killed, or its database connection was "
        "lost); run the preview again."
    )


def test_a_confirm_right_after_the_holders_session_ended_fails_it_and_starts():
    make_catalogue()
    holder = stored_job(S.PREVIEW_SUCCEEDED)
    actions.confirm_import(holder)  # sent to a queue nobody consumes here

    def start_and_die() -> None:
        tasks.claim_import(holder.pk, "first")

    in_another_session(start_and_die)
    waiting = stored_job(S.PREVIEW_SUCCEEDED)
    actions.confirm_import(waiting)
    assert waiting.state == S.IMPORT_IN_PROGRESS
    holder = fresh(holder)
    assert holder.state == S.IMPORT_FAILED
    assert holder.message.startswith("The import's worker stopped responding (killed")
    assert StockRecord.objects.count() == 0


def test_a_task_gives_its_lease_back_even_when_it_records_nothing(monkeypatch):
    def cancelled(self):
        raise ImportCancelledError(self.job.pk)

    monkeypatch.setattr(PreviewRun, "execute", cancelled)
    job = stored_job()
    tasks.preview_job.apply((job.pk,))
    assert fresh(job).state == S.PREVIEW_IN_PROGRESS
    assert connection.connection is not None, "the connection persists (CONN_MAX_AGE, pools)"
    assert leases.held(job) is False
    assert not liveness.is_alive(fresh(job))


def test_a_live_import_is_left_alone_by_a_redelivery_and_the_reaper(settings):
    make_catalogue()
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 0
    job = stored_job(S.PREVIEW_SUCCEEDED)
    actions.confirm_import(job)
    claimed = tasks.claim_import(job.pk, "first")
    started_at = claimed.import_started_at
    long_ago(job)

    assert in_another_session(lambda: tasks.claim_import(job.pk, "second")) is None
    assert in_another_session(liveness.reap_stale_jobs)["imports"] == 0
    assert in_another_session(tasks.restart_dead_jobs)["imports"] == 0
    job = fresh(job)
    assert (job.state, job.attempts, job.import_started_at) == (
        S.IMPORT_IN_PROGRESS,
        1,
        started_at,
    )
    leases.release(claimed)


def test_this_sessions_lease_is_taken_once_and_given_back_once():
    job = stored_job()
    assert leases.hold(job)
    assert leases.hold(job)
    assert in_another_session(lambda: leases.hold(job)) is False
    leases.release(job)
    assert leases.held(job) is False
    leases.release(job)  # not held: nothing to give back, no warning


def test_leases_do_not_meet_one_bigint_advisory_locks_of_other_applications():
    job = stored_job()
    namespace, second = leases.key(job)
    bigint = (namespace << 32) | (second % 2**32)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s::bigint)", [bigint])
    try:
        assert leases.held(job) is False
        assert in_another_session(lambda: leases.hold(job)) is True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s::bigint)", [bigint])


def test_without_advisory_locks_postgresql_falls_back_to_the_heartbeat(settings):
    settings.DATA_EXCHANGE_ADVISORY_LOCKS = False
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 60
    job = tasks.claim_preview(stored_job().pk, "q")
    assert leases.held(job) is None
    assert liveness.is_alive(fresh(job))
    long_ago(job)
    assert liveness.death(fresh(job)) == "no heartbeat for 60 s"


def test_the_reaper_skips_a_dead_jobs_row_that_another_transaction_holds():
    # Found dead, then taken over by a task before the reaper locks it: the reaper must not wait
    # for that task's transaction (a whole import) to end.
    job = stored_job()
    in_another_session(lambda: tasks.claim_preview(job.pk, "first"))
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        with transaction.atomic():
            ImportJob.objects.select_for_update().get(pk=job.pk)
            locked.set()
            release.wait(timeout=30)
        connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        started = time.monotonic()
        assert liveness.reap_stale_jobs() == {"previews": 0, "imports": 0, "exports": 0}
        assert time.monotonic() - started < 5
    finally:
        release.set()
        holder.join(timeout=30)
    assert fresh(job).state == S.PREVIEW_IN_PROGRESS
    assert liveness.reap_stale_jobs()["previews"] == 1
