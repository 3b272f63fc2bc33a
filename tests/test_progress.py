"""Progress, heartbeat and cancel requests of running jobs."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.db import transaction

from data_exchange_tool import progress
from data_exchange_tool.models import ImportJob
from data_exchange_tool.progress import ProgressChannel, read_progress, request_cancel
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecordImportJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(catalogue):
    job = StockRecordImportJob.objects.create(
        state=JobState.PREVIEW_IN_PROGRESS, file=ContentFile(b"a\n", name="a.csv")
    )
    yield job
    caches["default"].clear()


@pytest.mark.django_db(transaction=True)
def test_report_writes_progress_and_heartbeat(job):
    # Outside a transaction (a preview), progress goes straight to the job's row.
    ProgressChannel(job).report(40, 100)
    fresh = ImportJob.objects.get(pk=job.pk)
    assert (fresh.progress_done, fresh.progress_total) == (40, 100)
    assert fresh.heartbeat_at is not None
    assert progress.percent(fresh) == 40


@pytest.mark.django_db(transaction=True)
def test_report_is_rate_limited_unless_forced(job, settings):
    settings.DATA_EXCHANGE_PROGRESS_INTERVAL = 3600
    channel = ProgressChannel(job)
    channel.report(1, 100)
    channel.report(2, 100)
    assert ImportJob.objects.get(pk=job.pk).progress_done == 1
    channel.report(3, 100, force=True)
    assert ImportJob.objects.get(pk=job.pk).progress_done == 3


def test_import_progress_goes_through_the_cache_on_sqlite(job):
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.IMPORT_IN_PROGRESS)
    job.refresh_from_db()
    channel = ProgressChannel(job)
    with transaction.atomic():
        channel.report(30, 60)
        assert read_progress(job) == (30, 60)
        assert progress.percent(job) == 50
    assert ImportJob.objects.get(pk=job.pk).progress_done == 0
    channel.close()
    assert read_progress(job) == (0, 0)


def test_cancel_request_is_seen_by_the_channel_and_cleared_on_close(job):
    channel = ProgressChannel(job)
    assert not channel.cancel_requested()
    request_cancel(job)
    assert channel.cancel_requested()
    channel.close()
    assert not channel.cancel_requested()


class QueuedHere:
    """A ``progress.Sender`` that runs what is queued at once, or leaves it waiting."""

    def __init__(self, answer: bool = True) -> None:
        from django.db import connection

        self.connection = connection
        self.answer = answer
        self.queued = 0

    def queue(self, work):
        from concurrent.futures import Future

        self.queued += 1
        future: Future = Future()
        if self.answer:
            future.set_result(work())
        return future


def test_a_job_that_left_its_state_is_seen_a_read_later_through_the_background_thread(job):
    # The overlapped import reads the job's row on its writer thread, behind the work in
    # flight: a batch's answer is the one a read queued at an earlier batch gave.
    channel = ProgressChannel(job)
    sender = QueuedHere()
    assert not channel.cancel_requested(on=sender)  # the first read is queued: no answer yet
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.CANCELLED)
    assert not channel.cancel_requested(on=sender)  # the earlier read: still running
    assert channel.cancel_requested(on=sender)  # the read queued at the batch before
    assert sender.queued == 3
    assert channel.cancel_requested()  # read in line: at once


def test_a_read_is_queued_every_batch_and_its_answer_taken_when_it_comes(job):
    # One query a batch, as in line: the queries a batch costs do not depend on timing.
    channel = ProgressChannel(job)
    waiting = QueuedHere(answer=False)
    assert not channel.cancel_requested(on=waiting)
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.CANCELLED)
    assert not channel.cancel_requested(on=waiting)
    assert waiting.queued == 2
    assert len(channel._checks) == 2  # neither answered yet
    sender = QueuedHere()
    assert not channel.cancel_requested(on=sender)  # the two still wait; a third is answered
    assert len(channel._checks) == 3
    assert channel.cancel_requested(on=sender)  # the third said: no longer running
    assert channel.cancel_requested()  # read in line


def test_a_cancel_in_the_cache_is_seen_at_once_through_the_background_thread(job):
    channel = ProgressChannel(job)
    sender = QueuedHere()
    assert not channel.cancel_requested(on=sender)
    request_cancel(job)
    assert channel.cancel_requested(on=sender)
    channel.close()
