"""Files as people send them, through PostgreSQL, S3 and a real worker (#11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_exchange_tool import tasks
from data_exchange_tool.models import ImportJobRowError
from data_exchange_tool.states import JobState
from data_exchange_tool.writers import stream_table
from tests.helpers import STOCK_HEADERS, create_job, csv_bytes, make_catalogue, stock_rows
from tests.integration.conftest import wait_for
from tests.testapp.models import AnyFileImportJob, Sample, SampleImportJob

FILES = Path(__file__).resolve().parents[1] / "files"


@pytest.fixture
def not_sent(monkeypatch):
    """Keep the tasks in this process: nothing reaches the broker."""
    for task in (tasks.preview_job, tasks.import_job):
        monkeypatch.setattr(task, "apply_async", lambda *args, **kwargs: None)


def finished(job) -> bool:
    job.refresh_from_db()
    return job.state in (JobState.PREVIEW_SUCCEEDED, JobState.PREVIEW_FAILED)


@pytest.mark.django_db
@pytest.mark.parametrize(("column", "index"), [("partner", 0), ("product", 1)])
def test_a_nul_in_a_related_field_is_a_row_error_on_postgresql(catalogue, not_sent, column, index):
    # The natural key of a SlugRelatedField is looked up in the database, which refuses a NUL:
    # the whole preview failed before #11.
    rows = stock_rows(3)
    rows[1][index] = "P\x00-1"
    job = create_job(csv_bytes(rows))
    tasks.preview_job.apply((job.pk,))
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.new_rows, job.invalid_rows) == (2, 1)
    error = ImportJobRowError.objects.get(job=job)
    assert (error.row_number, error.column) == (3, column)
    assert error.message == "The cell contains a NUL character."


@pytest.mark.django_db
def test_a_nul_in_the_header_fails_the_preview_in_words(catalogue, not_sent):
    # A JSON key, or a workbook's header cell, may hold one; JSONB columns refuse it.
    job = create_job(b'[{"a\\u0000b": 1}]', name="rows.json", job_type=AnyFileImportJob)
    tasks.preview_job.apply((job.pk,))
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_FAILED
    assert job.message == "The header row contains a NUL character: is the file really text?"
    # In a CSV file, a NUL in the first line means binary data.
    job = create_job(csv_bytes(stock_rows(1), [*STOCK_HEADERS[:5], "num_\x00allocated"]))
    tasks.preview_job.apply((job.pk,))
    job.refresh_from_db()
    assert job.message == "This is not a CSV text file (it looks like binary data)."


@pytest.mark.django_db(transaction=True)
def test_a_large_workbook_is_read_by_a_child_of_the_worker(celery_worker, s3_client):
    make_catalogue()
    rows = stock_rows(25_000)
    content = b"".join(stream_table([STOCK_HEADERS, *rows], "xlsx"))
    job = create_job(content, name="stock.xlsx")
    wait_for(lambda: finished(job), timeout=120)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.total_rows, job.new_rows, job.invalid_rows) == (25_000, 25_000, 0)
    first = job.preview_rows.order_by("row_number").first()
    assert first.values == dict(zip(STOCK_HEADERS, map(str, rows[0]), strict=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("extension", ["ods", "xls", "xlsx"])
def test_libreoffice_workbooks_through_the_worker(celery_worker, s3_client, extension):
    name = f"typical.{extension}"
    job = create_job((FILES / name).read_bytes(), name=name, job_type=SampleImportJob)
    wait_for(lambda: finished(job), timeout=60)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.total_rows, job.invalid_rows) == (11, 0)
    assert not Sample.objects.exists()
