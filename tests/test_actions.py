"""Actions: one way in for every interface; in-process runs; force; tasks sent only on commit."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from data_exchange_tool import actions, tasks
from data_exchange_tool.states import ExportState, JobState
from example_project.demo.models import StockRecord, StockRecordExportJob, StockRecordImportJob
from tests.celery import app
from tests.helpers import csv_bytes, stock_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def not_eager(monkeypatch, settings):
    """Celery as a project without eager mode has it: a sent task would go to a broker."""
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    # Celery before 5.6 reads the namespaced Django setting before the key set above.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent = []
    for task in (tasks.preview_job, tasks.import_job, tasks.export_job):
        monkeypatch.setattr(task, "apply_async", lambda *a, **kw: sent.append(kw))
    return sent


def test_in_process_actions_run_the_tasks_here_and_leave_celery_alone(catalogue, not_eager):
    job = actions.start_import(
        StockRecordImportJob,
        ContentFile(csv_bytes(stock_rows(3)), name="stock.csv"),
        in_process=True,
    )
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED
    actions.confirm_import(job, in_process=True)
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED
    assert StockRecord.objects.count() == 3
    export = actions.start_export(StockRecordExportJob, in_process=True)
    assert export.state == ExportState.EXPORT_SUCCEEDED
    assert not_eager == [], "nothing was sent to a broker"
    assert app.conf.task_always_eager is False


def test_a_task_is_sent_once_the_transaction_commits(catalogue, not_eager, run_on_commit):
    with run_on_commit():
        job = actions.start_import(
            StockRecordImportJob, ContentFile(csv_bytes(stock_rows(1)), name="s.csv")
        )
        assert not_eager == []
    assert not_eager == [{"queue": "dxt_test_preview", "task_id": job.preview_task_id}]


def test_a_refused_action_sends_nothing(catalogue, not_eager, run_on_commit):
    job = StockRecordImportJob.objects.create(state=JobState.CREATED)
    with run_on_commit(), pytest.raises(actions.TransitionRefusedError):
        actions.confirm_import(job)
    assert not_eager == []


def test_force_imports_the_valid_rows_in_one_step(catalogue, run_on_commit):
    rows = stock_rows(3)
    rows[1][0] = "Nobody"
    with run_on_commit():
        job = actions.start_import(
            StockRecordImportJob, ContentFile(csv_bytes(rows), name="stock.csv")
        )
    job.refresh_from_db()
    assert (job.invalid_rows, job.force_import) == (1, False)
    with pytest.raises(actions.TransitionRefusedError):
        actions.confirm_import(job)
    with run_on_commit():
        actions.confirm_import(job, force=True)
    job.refresh_from_db()
    assert (job.state, job.force_import) == (JobState.IMPORT_SUCCEEDED, True)
    assert StockRecord.objects.count() == 2


def test_a_clean_preview_confirms_itself_when_asked(catalogue, run_on_commit):
    with run_on_commit():
        job = actions.start_import(
            StockRecordImportJob,
            ContentFile(csv_bytes(stock_rows(2)), name="stock.csv"),
            options={"skip_preview_confirmation": True},
        )
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED
