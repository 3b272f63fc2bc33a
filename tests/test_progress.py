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
