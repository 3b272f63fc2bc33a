"""The job's state machine: transitions, the protected field and the optimistic lock."""

from __future__ import annotations

import django_fsm as fsm
import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.files.base import ContentFile
from django.db import transaction

from data_exchange_tool import progress
from data_exchange_tool.models import ImportJob, RunResult
from data_exchange_tool.states import (
    CANCELLABLE_STATES,
    FINAL_STATES,
    PREVIEW_DONE_STATES,
    RUNNING_STATES,
    JobState,
)
from example_project.demo.models import StockRecordImportJob

pytestmark = pytest.mark.django_db

S = JobState
ALL_STATES = list(JobState)

#: transition name -> the states it may start from, and the state it ends in.
TRANSITIONS = {
    "start_preview": ({S.CREATED}, S.PREVIEW_IN_PROGRESS),
    "succeed_preview": ({S.PREVIEW_IN_PROGRESS}, S.PREVIEW_SUCCEEDED),
    "fail_preview": ({S.CREATED, S.PREVIEW_IN_PROGRESS}, S.PREVIEW_FAILED),
    "reset_preview": ({S.PREVIEW_SUCCEEDED, S.PREVIEW_FAILED, S.IMPORT_FAILED}, S.CREATED),
    "restart_preview": ({S.PREVIEW_IN_PROGRESS}, S.PREVIEW_IN_PROGRESS),
    "start_import": ({S.PREVIEW_SUCCEEDED}, S.IMPORT_IN_PROGRESS),
    "succeed_import": ({S.IMPORT_IN_PROGRESS}, S.IMPORT_SUCCEEDED),
    "begin_import": ({S.IMPORT_IN_PROGRESS}, S.IMPORT_IN_PROGRESS),
    "fail_import": ({S.IMPORT_IN_PROGRESS}, S.IMPORT_FAILED),
    "cancel": (set(CANCELLABLE_STATES), S.CANCELLED),
}
ARGUMENTS = {"succeed_preview": (RunResult(),), "succeed_import": (RunResult(),)}
ARGUMENTS |= {"fail_preview": ("broken",), "fail_import": ("broken",)}


def make_job(state: str = S.CREATED, **fields) -> StockRecordImportJob:
    """Return a saved job in ``state`` (its preview is never sent: nothing commits)."""
    return StockRecordImportJob.objects.create(
        state=state, file=ContentFile(b"partner\n", name="s.csv"), **fields
    )


CASES = [(name, state) for name in TRANSITIONS for state in ALL_STATES]


@pytest.mark.parametrize(("name", "state"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_transition_from_each_state(catalogue, name, state):
    sources, target = TRANSITIONS[name]
    job = make_job(state)
    method = getattr(job, name)
    assert fsm.can_proceed(method) == (state in sources)
    if state in sources:
        method(*ARGUMENTS.get(name, ()))
        job.save()
        job.refresh_from_db()
        assert job.state == target
    else:
        with pytest.raises(fsm.TransitionNotAllowed):
            method(*ARGUMENTS.get(name, ()))
        job.refresh_from_db()
        assert job.state == state


def test_state_groups():
    assert set(RUNNING_STATES) == {S.PREVIEW_IN_PROGRESS, S.IMPORT_IN_PROGRESS}
    assert set(FINAL_STATES) == {S.IMPORT_SUCCEEDED, S.IMPORT_FAILED, S.CANCELLED}
    assert set(PREVIEW_DONE_STATES) == {S.PREVIEW_SUCCEEDED, S.PREVIEW_FAILED}
    assert not set(FINAL_STATES) & set(CANCELLABLE_STATES)
    assert [s.value for s in JobState] == [
        "CREATED",
        "PREVIEW_IN_PROGRESS",
        "PREVIEW_SUCCEEDED",
        "PREVIEW_FAILED",
        "IMPORT_IN_PROGRESS",
        "IMPORT_SUCCEEDED",
        "IMPORT_FAILED",
        "CANCELLED",
    ]


def test_state_is_protected(catalogue):
    job = make_job()
    with pytest.raises(AttributeError):
        job.state = S.IMPORT_SUCCEEDED
    assert job.state == S.CREATED


def test_refresh_from_db_still_reads_the_state(catalogue):
    job = make_job()
    ImportJob.objects.filter(pk=job.pk).update(state=S.PREVIEW_FAILED)
    job.refresh_from_db()
    assert job.state == S.PREVIEW_FAILED


def test_stale_instance_cannot_transition(catalogue):
    job = make_job()
    stale = StockRecordImportJob.objects.get(pk=job.pk)
    job.start_preview()
    job.save()
    stale.fail_preview("too late")
    with pytest.raises(fsm.ConcurrentTransition), transaction.atomic():
        stale.save()
    job.refresh_from_db()
    assert job.state == S.PREVIEW_IN_PROGRESS
    assert job.message == ""


def test_stale_instance_loaded_through_the_base_manager_cannot_transition(catalogue):
    job = make_job(S.PREVIEW_SUCCEEDED)
    stale = ImportJob.objects.get(pk=job.pk)
    job.cancel()
    job.save()
    stale.start_import()
    with pytest.raises(fsm.ConcurrentTransition), transaction.atomic():
        stale.save()
    assert ImportJob.objects.get(pk=job.pk).state == S.CANCELLED


def test_start_import_needs_a_clean_preview_or_force(catalogue):
    job = make_job(S.PREVIEW_SUCCEEDED, invalid_rows=2)
    assert not fsm.can_proceed(job.start_import)
    forced = make_job(S.PREVIEW_SUCCEEDED, invalid_rows=2, force_import=True)
    assert fsm.can_proceed(forced.start_import)


def test_start_import_records_who_confirmed(catalogue):
    user = User.objects.create_user("ana")
    job = make_job(S.PREVIEW_SUCCEEDED, total_rows=12)
    job.start_import(user)
    assert job.confirmed_by == user
    assert (job.progress_done, job.progress_total) == (0, 12)
    assert job.heartbeat_at is not None
    anonymous = make_job(S.PREVIEW_SUCCEEDED)
    anonymous.start_import(AnonymousUser())
    assert anonymous.confirmed_by is None


def test_preview_transitions_record_counts_and_times(catalogue):
    job = make_job(message="old")
    job.start_preview()
    assert job.preview_started_at is not None
    assert job.message == ""
    job.succeed_preview(RunResult(total=5, new=2, updated=1, unchanged=1, invalid=1))
    job.save()
    job.refresh_from_db()
    counts = (job.total_rows, job.new_rows, job.updated_rows, job.unchanged_rows, job.invalid_rows)
    assert counts == (5, 2, 1, 1, 1)
    assert job.preview_finished_at >= job.preview_started_at
    job.reset_preview()
    assert (job.total_rows, job.invalid_rows, job.preview_started_at) == (0, 0, None)


def test_fail_keeps_the_message(catalogue):
    job = make_job(S.IMPORT_IN_PROGRESS)
    job.fail_import("The database went away.")
    job.save()
    job.refresh_from_db()
    assert (job.state, job.message) == (S.IMPORT_FAILED, "The database went away.")
    assert job.import_finished_at is not None


@pytest.mark.parametrize(
    ("state", "done", "total", "percent"),
    [
        (S.PREVIEW_IN_PROGRESS, 0, 0, 0),
        (S.PREVIEW_IN_PROGRESS, 25, 200, 12),
        (S.PREVIEW_SUCCEEDED, 200, 200, 100),
        (S.PREVIEW_IN_PROGRESS, 300, 200, 100),
        (S.IMPORT_SUCCEEDED, 0, 0, 100),
    ],
)
def test_progress_percent(catalogue, state, done, total, percent):
    job = make_job(state, progress_done=done, progress_total=total)
    assert progress.percent(job) == percent


def test_is_running(catalogue):
    assert make_job(S.PREVIEW_IN_PROGRESS).is_running
    assert make_job(S.IMPORT_IN_PROGRESS).is_running
    assert not make_job(S.PREVIEW_SUCCEEDED).is_running
