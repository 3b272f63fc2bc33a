"""The lock per target: refusals in words, the database constraint, previews, stale imports."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from data_exchange_tool import actions
from data_exchange_tool.exceptions import JobLockedError, TransitionRefusedError
from data_exchange_tool.liveness import reap_stale_jobs
from data_exchange_tool.locking import (
    confirm_refusal,
    describe_holder,
    lock_holder,
)
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import JobState
from example_project.demo.models import ProductImportJob, StockRecordImportJob
from tests.testapp.models import SlowStockRecordImportJob

pytestmark = pytest.mark.django_db

S = JobState


def make_job(state=S.PREVIEW_SUCCEEDED, job_type=StockRecordImportJob, **fields):
    """Return a saved job in ``state``; nothing commits, so no task runs."""
    return job_type.objects.create(
        state=state, file=ContentFile(b"partner\n", name="s.csv"), total_rows=3, **fields
    )


REFUSALS = [
    (S.CREATED, {}, "The preview has not finished yet."),
    (S.PREVIEW_IN_PROGRESS, {}, "The preview has not finished yet."),
    (S.PREVIEW_FAILED, {}, "This preview failed: fix the file and run the preview again."),
    (S.PREVIEW_SUCCEEDED, {"invalid_rows": 2}, "The preview found 2 invalid rows"),
    (S.PREVIEW_SUCCEEDED, {"invalid_rows": 1}, "The preview found 1 invalid row:"),
    (S.IMPORT_IN_PROGRESS, {}, "This file is being imported now."),
    (S.IMPORT_SUCCEEDED, {}, "This file is already imported."),
    (S.IMPORT_FAILED, {}, "This import failed and wrote nothing"),
    (S.CANCELLED, {}, "This job was cancelled: upload the file again to import it."),
]


@pytest.mark.parametrize(("state", "fields", "words"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_confirm_is_refused_in_words(catalogue, state, fields, words):
    job = make_job(state, **fields)
    assert confirm_refusal(job).startswith(words)
    with pytest.raises(TransitionRefusedError) as refused:
        actions.confirm_import(job)
    assert str(refused.value).startswith(words)
    assert refused.value.state == state
    assert not isinstance(refused.value, JobLockedError)
    job.refresh_from_db()
    assert job.state == state
    assert job.confirmed_by is None


def test_invalid_rows_refusal_names_both_ways_out(catalogue):
    job = make_job(invalid_rows=1)
    assert "run the preview again, or import the valid rows" in confirm_refusal(job)


@pytest.mark.parametrize("fields", [{}, {"invalid_rows": 4, "force_import": True}])
def test_clean_or_forced_preview_can_be_confirmed(catalogue, fields):
    user = User.objects.create_user("ana")
    job = make_job(**fields)
    assert confirm_refusal(job) is None
    actions.confirm_import(job, user)
    assert job.state == S.IMPORT_IN_PROGRESS
    assert job.confirmed_by == user
    assert job.import_task_id


def test_the_database_refuses_a_second_running_import_of_one_target(catalogue):
    make_job(S.IMPORT_IN_PROGRESS)
    other = make_job()
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportJob.objects.filter(pk=other.pk).update(state=S.IMPORT_IN_PROGRESS)
    # Another target is free.
    make_job(S.IMPORT_IN_PROGRESS, job_type=ProductImportJob)


@pytest.mark.parametrize(
    "second_type", [StockRecordImportJob, SlowStockRecordImportJob], ids=["same", "other-type"]
)
def test_second_confirm_of_one_target_is_refused_naming_the_holder(catalogue, second_type):
    maria = User.objects.create_user("maria")
    first = make_job()
    second = make_job(job_type=second_type)
    actions.confirm_import(first, maria)
    with pytest.raises(JobLockedError) as locked:
        actions.confirm_import(second)
    error = locked.value
    assert error.holder_pk == first.pk
    assert error.code == "locked"
    assert f"Job #{first.pk}" in str(error)
    assert "maria" in str(error)
    assert "stock record" in str(error)
    second.refresh_from_db()
    assert second.state == S.PREVIEW_SUCCEEDED
    assert second.import_task_id == ""
    assert confirm_refusal(second) == str(error)
    assert lock_holder(second) == first


def test_holder_named_by_its_uploader_when_nobody_confirmed(catalogue):
    holder = make_job(S.IMPORT_IN_PROGRESS, created_by=User.objects.create_user("uploader"))
    assert "started by uploader" in describe_holder(holder)
    anonymous = make_job(S.IMPORT_IN_PROGRESS, job_type=ProductImportJob)
    assert describe_holder(anonymous).startswith(f"Job #{anonymous.pk} (product import) is")


def test_the_lock_is_released_when_the_import_ends(catalogue):
    first = make_job()
    actions.confirm_import(first)
    first.fail_import("stopped")
    first.save()
    second = make_job()
    assert confirm_refusal(second) is None
    actions.confirm_import(second)
    assert second.state == S.IMPORT_IN_PROGRESS


def test_other_targets_are_not_locked(catalogue):
    actions.confirm_import(make_job())
    product = make_job(job_type=ProductImportJob)
    actions.confirm_import(product)
    assert product.state == S.IMPORT_IN_PROGRESS


@pytest.mark.parametrize(
    "state", [S.CREATED, S.PREVIEW_IN_PROGRESS, S.PREVIEW_SUCCEEDED, S.PREVIEW_FAILED]
)
def test_previews_never_hold_the_lock(catalogue, state):
    make_job(state)
    make_job(state, job_type=SlowStockRecordImportJob)
    job = make_job()
    assert confirm_refusal(job) is None
    actions.confirm_import(job)
    assert job.state == S.IMPORT_IN_PROGRESS


def reaped(**kwargs) -> int:
    """Reap dead jobs; return how many previews and imports were failed."""
    counts = reap_stale_jobs(**kwargs)
    return counts["previews"] + counts["imports"]


def age(job, seconds):
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_dead_import_is_failed_after_the_heartbeat_timeout(catalogue, settings):
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 60
    dead = make_job()
    actions.confirm_import(dead)
    age(dead, 61)
    waiting = make_job()
    actions.confirm_import(waiting)  # reaps the dead import first
    assert waiting.state == S.IMPORT_IN_PROGRESS
    dead.refresh_from_db()
    assert dead.state == S.IMPORT_FAILED
    assert "stopped responding" in dead.message


def test_a_quiet_import_within_the_timeout_keeps_the_lock(catalogue, settings):
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 60
    quiet = make_job()
    actions.confirm_import(quiet)
    age(quiet, 59)
    assert reaped() == 0
    with pytest.raises(JobLockedError):
        actions.confirm_import(make_job())


def test_an_import_reporting_through_the_cache_is_alive(catalogue, settings):
    # On SQLite the running import's progress goes through the cache, not its row.
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 60
    running = make_job()
    actions.confirm_import(running)
    age(running, 600)
    caches["default"].set(f"data_exchange_tool:job:{running.pk}:progress", (10, 100))
    try:
        assert reaped() == 0
    finally:
        caches["default"].clear()
    running.refresh_from_db()
    assert running.state == S.IMPORT_IN_PROGRESS


def test_a_dead_preview_is_failed(catalogue, settings):
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 60
    job = make_job(S.PREVIEW_IN_PROGRESS, heartbeat_at=timezone.now())
    age(job, 120)
    assert reaped() == 1
    job.refresh_from_db()
    assert job.state == S.PREVIEW_FAILED
    assert "no heartbeat" in job.message


def test_reaping_is_limited_to_one_target(catalogue, settings):
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 60
    stock = make_job(S.PREVIEW_IN_PROGRESS, heartbeat_at=timezone.now())
    product = make_job(S.PREVIEW_IN_PROGRESS, job_type=ProductImportJob, heartbeat_at=None)
    age(stock, 120)
    age(product, 120)
    assert reaped(content_type_id=product.content_type_id) == 1
    stock.refresh_from_db()
    assert stock.state == S.PREVIEW_IN_PROGRESS


def test_confirm_refusal_function_matches_the_method(catalogue):
    job = make_job(S.CREATED)
    assert confirm_refusal(job) == confirm_refusal(job)


@pytest.mark.parametrize(
    "error",
    [
        TransitionRefusedError("No.", S.CREATED),
        JobLockedError("Job #3 is importing.", 3, S.PREVIEW_SUCCEEDED),
    ],
)
def test_refusals_pickle_for_celery(error):
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is type(error)
    assert (str(copy), copy.state, copy.code) == (str(error), error.state, error.code)
    assert getattr(copy, "holder_pk", None) == getattr(error, "holder_pk", None)


def test_reaped_jobs_send_the_signals_a_failing_task_sends(
    catalogue, settings, django_capture_on_commit_callbacks
):
    from data_exchange_tool import signals

    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 60
    preview = make_job(S.PREVIEW_IN_PROGRESS, heartbeat_at=timezone.now())
    dead = make_job()
    actions.confirm_import(dead)
    age(preview, 120)
    age(dead, 120)
    events = []

    def record(sender, job, **kwargs):
        events.append((kwargs["signal"], job.pk, kwargs["message"]))

    for signal in (signals.preview_finished, signals.import_failed):
        signal.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert reaped() == 2
    finally:
        for signal in (signals.preview_finished, signals.import_failed):
            signal.disconnect(record)
    assert {(signal, pk) for signal, pk, _ in events} == {
        (signals.preview_finished, preview.pk),
        (signals.import_failed, dead.pk),
    }
    assert all("no heartbeat" in message for _, _, message in events)
