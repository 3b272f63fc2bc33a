"""Row values PostgreSQL cannot store as they are (NUL characters) still make row errors."""

from __future__ import annotations

import pytest

from data_exchange_tool import tasks
from data_exchange_tool.models import ImportJobRowError
from data_exchange_tool.states import JobState
from tests.helpers import create_job, csv_bytes, stock_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def not_sent(monkeypatch):
    """Keep the tasks in this process: nothing reaches the broker."""
    for task in (tasks.preview_job, tasks.import_job):
        monkeypatch.setattr(task, "apply_async", lambda *args, **kwargs: None)


def test_nul_in_a_cell_is_a_row_error_on_postgresql(catalogue, not_sent):
    rows = stock_rows(3)
    rows[1][2] = "SKU\x00BAD"
    job = create_job(csv_bytes(rows))
    tasks.preview_job.apply((job.pk,))
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.new_rows, job.invalid_rows) == (2, 1)
    error = ImportJobRowError.objects.get(job=job)
    assert (error.row_number, error.column) == (3, "partner_sku")
    assert error.values["partner_sku"] == "SKU\ufffdBAD"
