"""
Worker processes SIGKILLed mid-import and mid-preview, against PostgreSQL, Redis and RabbitMQ.

Each test starts its own workers on queues of its own (``workers``, ``rabbitmq_workers``) and
kills them as the OOM killer would. A dead worker's database session ends, and with it the lease
on its job, so whoever asks next knows at once: a confirm on the same target, the reaper, a task
delivered again, a worker that starts. A live import is never touched by any of them.

The time from each kill to what noticed it is written to ``<artifacts>/recovery.jsonl``.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from data_exchange_tool import actions, leases, liveness, tasks
from data_exchange_tool.exceptions import JobLockedError
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord
from tests.helpers import csv_bytes, make_catalogue, stock_rows
from tests.integration.conftest import ARTIFACTS, wait_for
from tests.testapp.models import SlowStockRecordImportJob

pytestmark = pytest.mark.django_db(transaction=True)

S = JobState
#: Rows of a job that a test kills, and the seconds each row takes in the worker: long enough
#: for the kill to land mid-task (the first progress comes after a batch of 100 rows). Four
#: batches: the preview reads ahead (a batch's progress is written once the next one is
#: validated), so with two its progress showed only as it ended and ``running`` could miss it.
ROWS, DELAY = 400, 0.01


def record(case: str, seconds: float, **facts: Any) -> None:
    """Append one measured delay to the run's recovery figures."""
    line = {"case": case, "seconds": round(seconds, 3), **facts}
    with Path(ARTIFACTS, "recovery.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def slow_job(rows: int, delay: float, state: str = S.PREVIEW_SUCCEEDED, start: int = 0):
    """A job of slow rows (``delay`` seconds each, in the worker), saved without a task."""
    job = SlowStockRecordImportJob(
        file=ContentFile(csv_bytes(stock_rows(rows, start=start)), name="slow.csv"),
        file_name="slow.csv",
        state=state,
        total_rows=rows if state == S.PREVIEW_SUCCEEDED else 0,
        new_rows=rows if state == S.PREVIEW_SUCCEEDED else 0,
        options={"row_delay": delay},
    )
    job.save()
    return job


def fresh(job) -> ImportJob:
    return ImportJob.objects.get(pk=job.pk)


def running(job) -> bool:
    """Return True once the job's task has started and done some rows."""
    current = fresh(job)
    return current.state in (S.PREVIEW_IN_PROGRESS, S.IMPORT_IN_PROGRESS) and (
        current.progress_done > 0
    )


def ended(job, *states: str) -> ImportJob | None:
    current = fresh(job)
    return current if current.state in states else None


def lease_gone(job) -> bool:
    return leases.held(job) is False


def every_row_written_once(rows: int) -> None:
    assert StockRecord.objects.count() == rows
    assert StockRecord.objects.values("partner_sku").distinct().count() == rows


# --- PostgreSQL knows at once ------------------------------------------------------------------


def test_a_confirm_right_after_the_importing_worker_was_killed_starts_at_once(workers):
    make_catalogue()
    worker = workers.start()
    holder = slow_job(rows=ROWS, delay=DELAY)
    actions.confirm_import(holder)
    wait_for(lambda: running(holder), timeout=60, interval=0.05)

    killed_at = worker.kill()
    waiting = slow_job(rows=1, delay=0, start=5000)

    def confirmed() -> bool:
        try:
            actions.confirm_import(waiting)
        except JobLockedError:  # the dead worker's session may take milliseconds to end
            return False
        return True

    wait_for(confirmed, timeout=10, interval=0.01)
    record("confirm after kill (PostgreSQL)", time.monotonic() - killed_at)
    assert fresh(waiting).state == S.IMPORT_IN_PROGRESS
    holder = fresh(holder)
    assert holder.state == S.IMPORT_FAILED
    assert holder.message.startswith(
        "The import's worker stopped responding (killed, or its database connection was lost)"
    )
    assert StockRecord.objects.count() == 0


def test_the_reaper_run_once_right_after_a_kill_fails_the_dead_preview_at_once(workers):
    make_catalogue()
    worker = workers.start()
    job = actions.submit_import(slow_job(rows=ROWS, delay=DELAY, state=S.CREATED))
    wait_for(lambda: running(job), timeout=60, interval=0.05)

    killed_at = worker.kill()
    wait_for(lambda: lease_gone(job), timeout=10, interval=0.01)
    record("lease freed after kill (PostgreSQL)", time.monotonic() - killed_at)
    assert liveness.reap_stale_jobs() == {"previews": 1, "imports": 0, "exports": 0}
    record("reaper after kill (PostgreSQL)", time.monotonic() - killed_at)

    job = fresh(job)
    assert job.state == S.PREVIEW_FAILED
    assert job.message == (
        "The preview's worker stopped responding (killed, or its database connection was "
        "lost); run the preview again."
    )


# --- killed work finishes by itself -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["import", "preview"])
def test_a_killed_task_is_redelivered_by_rabbitmq_and_runs_again_from_the_start(
    rabbitmq_workers, kind
):
    make_catalogue()
    rows = ROWS
    pair = [rabbitmq_workers.start(wait=False), rabbitmq_workers.start(wait=False)]
    wait_for(lambda: all(worker.ready() for worker in pair), timeout=90)
    if kind == "import":
        job = slow_job(rows=rows, delay=DELAY)
        actions.confirm_import(job)
        task_id, done = fresh(job).import_task_id, S.IMPORT_SUCCEEDED
    else:
        job = actions.submit_import(slow_job(rows=rows, delay=DELAY, state=S.CREATED))
        task_id, done = job.preview_task_id, S.PREVIEW_SUCCEEDED
    wait_for(lambda: running(job), timeout=60, interval=0.05)
    (busy,) = [worker for worker in pair if worker.received(task_id)]

    killed_at = busy.kill()
    wait_for(lambda: fresh(job).attempts == 2, timeout=30, interval=0.02)
    record(f"{kind} redelivered after kill (RabbitMQ)", time.monotonic() - killed_at)
    job = wait_for(lambda: ended(job, done, S.IMPORT_FAILED, S.PREVIEW_FAILED), timeout=90)

    assert (job.state, job.attempts, job.total_rows) == (done, 2, rows), job.message
    if kind == "import":
        every_row_written_once(rows)


def test_a_worker_that_starts_after_a_kill_runs_the_dead_import_again(workers):
    # Redis gives a killed worker's message back only after its visibility timeout (an hour by
    # default): the next worker to start sends the task again itself.
    make_catalogue()
    rows = ROWS
    first = workers.start()
    job = slow_job(rows=rows, delay=DELAY)
    actions.confirm_import(job)
    wait_for(lambda: running(job), timeout=60, interval=0.05)

    killed_at = first.kill()
    workers.start()
    wait_for(lambda: fresh(job).attempts == 2, timeout=30, interval=0.02)
    record("import restarted by a starting worker (Redis)", time.monotonic() - killed_at)
    job = wait_for(lambda: ended(job, S.IMPORT_SUCCEEDED, S.IMPORT_FAILED), timeout=90)

    assert (job.state, job.attempts) == (S.IMPORT_SUCCEEDED, 2), job.message
    every_row_written_once(rows)


def test_a_killed_pool_process_has_its_task_requeued_and_run_again(workers):
    # A prefork worker outlives its pool process: with reject_on_worker_lost the task's message
    # goes back to the queue (Redis too) instead of being acknowledged as failed.
    make_catalogue()
    rows = ROWS
    worker = workers.start(pool="prefork")
    job = slow_job(rows=rows, delay=DELAY)
    actions.confirm_import(job)
    wait_for(lambda: running(job), timeout=60, interval=0.05)

    pid = worker.process.pid
    (child,) = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    os.kill(child, signal.SIGKILL)  # the pool process running the import
    killed_at = time.monotonic()
    wait_for(lambda: fresh(job).attempts == 2, timeout=60, interval=0.02)
    record(
        "import requeued after its pool process was killed (Redis)", time.monotonic() - killed_at
    )
    job = wait_for(lambda: ended(job, S.IMPORT_SUCCEEDED, S.IMPORT_FAILED), timeout=90)

    assert (job.state, job.attempts) == (S.IMPORT_SUCCEEDED, 2), job.message
    every_row_written_once(rows)


# --- a live import is never touched -----------------------------------------------------------


def test_a_live_long_import_is_left_alone_by_the_reaper_a_redelivery_and_a_starting_worker(
    workers, settings
):
    make_catalogue()
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 0  # the heartbeat would call every job dead
    rows = 400
    first = workers.start()
    job = slow_job(rows=rows, delay=0.025)
    actions.confirm_import(job)
    wait_for(lambda: running(job), timeout=60, interval=0.05)
    started = fresh(job)

    second = workers.start()  # its start-up sweep finds the import alive
    assert liveness.reap_stale_jobs() == {"previews": 0, "imports": 0, "exports": 0}
    duplicate = str(uuid.uuid4())
    tasks.import_job.apply_async(
        (job.pk,), queue=settings.DATA_EXCHANGE_IMPORT_QUEUE, task_id=duplicate
    )
    wait_for(lambda: second.ran(duplicate), timeout=30)

    now = fresh(job)
    assert (now.state, now.attempts, now.import_started_at) == (
        S.IMPORT_IN_PROGRESS,
        1,
        started.import_started_at,
    )
    job = wait_for(lambda: ended(job, S.IMPORT_SUCCEEDED, S.IMPORT_FAILED), timeout=120)
    assert (job.state, job.attempts) == (S.IMPORT_SUCCEEDED, 1), job.message
    every_row_written_once(rows)
    assert first.process.poll() is None
