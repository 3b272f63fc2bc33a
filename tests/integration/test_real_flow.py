"""Preview and import through a real worker, Redis, PostgreSQL and S3 (moto's server)."""

from __future__ import annotations

import pytest
from django.conf import settings

from data_exchange_tool import actions
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord
from tests.helpers import create_job, csv_bytes, make_catalogue, stock_rows, xlsx_bytes
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def state_of(job, *states):
    job.refresh_from_db()
    return job.state in states


def test_preview_and_import_run_on_their_own_queues(celery_worker, s3_client):
    make_catalogue()
    job = create_job(csv_bytes(stock_rows(250)))
    wait_for(lambda: state_of(job, JobState.PREVIEW_SUCCEEDED, JobState.PREVIEW_FAILED))
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert job.preview_queue == settings.DATA_EXCHANGE_PREVIEW_QUEUE
    assert (job.total_rows, job.new_rows) == (250, 250)

    actions.confirm_import(job)
    wait_for(lambda: state_of(job, JobState.IMPORT_SUCCEEDED, JobState.IMPORT_FAILED))
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert job.import_queue == settings.DATA_EXCHANGE_IMPORT_QUEUE
    assert job.import_queue != job.preview_queue
    assert StockRecord.objects.count() == 250


def test_files_live_in_the_s3_bucket_under_the_base_path(celery_worker, s3_client):
    make_catalogue()
    job = create_job(xlsx_bytes(stock_rows(20)), name="stock.xlsx")
    key = f"{settings.MODEL_DATA_EXCHANGE_S3_BASE_PATH}/{job.file.name}"
    head = s3_client.head_object(Bucket=settings.MODEL_DATA_EXCHANGE_S3_BUCKET_NAME, Key=key)
    assert head["ContentLength"] == job.file_size
    wait_for(lambda: state_of(job, JobState.PREVIEW_SUCCEEDED, JobState.PREVIEW_FAILED))
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert job.new_rows == 20
