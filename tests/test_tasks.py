"""The tasks: sent after commit to their queues, idempotent, cancellable, re-runnable."""

from __future__ import annotations

import hashlib

import pytest
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.forms.models import model_to_dict

from data_exchange_tool import actions, signals, tasks
from data_exchange_tool.exceptions import TransitionRefusedError
from data_exchange_tool.locking import confirm_refusal
from data_exchange_tool.models import ImportJob, ImportJobPreviewRow, ImportJobRowError
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord, StockRecordImportJob
from tests.helpers import create_job, csv_bytes, stock_rows

pytestmark = pytest.mark.django_db

S = JobState


def previewed(content: bytes, run_on_commit, **fields):
    with run_on_commit():
        job = create_job(content, **fields)
    job.refresh_from_db()
    return job


def imported(content: bytes, run_on_commit, **fields):
    job = previewed(content, run_on_commit, **fields)
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    return job


def snapshot(job) -> dict:
    """Return everything a task could change about a job."""
    fresh = ImportJob.objects.get(pk=job.pk)
    return {
        **model_to_dict(fresh),
        "state": fresh.state,
        "updated_at": fresh.updated_at,
        "errors": list(ImportJobRowError.objects.filter(job=job).values()),
        "sample": list(ImportJobPreviewRow.objects.filter(job=job).values()),
        "records": list(StockRecord.objects.values()),
    }


@pytest.fixture
def sent(monkeypatch):
    """Record the tasks sent (instead of running them): ``[(name, args, options)]``."""
    calls = []
    for task in (tasks.preview_job, tasks.import_job):

        def fake(args, _name=task.name, **options):
            calls.append((_name, args, options))

        monkeypatch.setattr(task, "apply_async", fake)
    return calls


# --- sending ---------------------------------------------------------------------------------


def test_preview_is_sent_only_after_commit(catalogue, django_capture_on_commit_callbacks, sent):
    with django_capture_on_commit_callbacks() as callbacks:
        job = create_job(csv_bytes(stock_rows(1)))
        assert sent == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [
        (
            "data_exchange_tool.preview_job",
            (job.pk,),
            {"queue": "dxt_test_preview", "task_id": job.preview_task_id},
        )
    ]
    assert ImportJob.objects.get(pk=job.pk).preview_task_id == job.preview_task_id


def test_queues_are_read_when_the_task_is_sent(catalogue, run_on_commit, sent, settings):
    settings.DATA_EXCHANGE_PREVIEW_QUEUE = "previews-now"
    settings.DATA_EXCHANGE_IMPORT_QUEUE = "imports-now"
    with run_on_commit():
        job = create_job(csv_bytes(stock_rows(1)))
    ImportJob.objects.filter(pk=job.pk).update(state=S.PREVIEW_SUCCEEDED)
    with run_on_commit():
        actions.confirm_import(job)
    assert [(name, options["queue"]) for name, _, options in sent] == [
        ("data_exchange_tool.preview_job", "previews-now"),
        ("data_exchange_tool.import_job", "imports-now"),
    ]
    assert sent[1][2]["task_id"] == ImportJob.objects.get(pk=job.pk).import_task_id


def test_tasks_are_declared_for_late_acks_and_no_results():
    for task, name in ((tasks.preview_job, "preview_job"), (tasks.import_job, "import_job")):
        assert task.name == f"data_exchange_tool.{name}"
        assert task.acks_late is True
        assert task.ignore_result is True


def test_a_job_without_a_file_is_not_previewed(catalogue, run_on_commit, sent):
    with run_on_commit():
        StockRecordImportJob.objects.create()
    assert sent == []


# --- idempotency -----------------------------------------------------------------------------


def test_preview_delivered_twice_changes_nothing(catalogue, run_on_commit):
    rows = stock_rows(4)
    rows[0][0] = "Nobody"
    job = previewed(csv_bytes(rows), run_on_commit)
    assert (job.state, job.invalid_rows) == (S.PREVIEW_SUCCEEDED, 1)
    before = snapshot(job)
    tasks.preview_job.apply((job.pk,))
    assert snapshot(job) == before


def test_import_delivered_twice_changes_nothing(catalogue, run_on_commit):
    job = imported(csv_bytes(stock_rows(4)), run_on_commit)
    assert job.state == S.IMPORT_SUCCEEDED
    before = snapshot(job)
    tasks.import_job.apply((job.pk,))
    tasks.preview_job.apply((job.pk,))
    assert snapshot(job) == before


def test_import_delivered_again_while_it_runs_changes_nothing(catalogue, run_on_commit):
    job = previewed(csv_bytes(stock_rows(4)), run_on_commit)
    actions.confirm_import(job)  # not committed: the task is not sent
    tasks.claim_import(job.pk, "first-delivery")  # the first delivery has started
    before = snapshot(job)
    tasks.import_job.apply((job.pk,))
    assert snapshot(job) == before
    assert StockRecord.objects.count() == 0


@pytest.mark.parametrize(
    "state", [S.CREATED, S.PREVIEW_SUCCEEDED, S.PREVIEW_FAILED, S.IMPORT_FAILED, S.CANCELLED]
)
def test_import_for_a_job_in_the_wrong_state_changes_nothing(catalogue, state):
    job = create_job(csv_bytes(stock_rows(3)), state=state)
    before = snapshot(job)
    tasks.import_job.apply((job.pk,))
    assert snapshot(job) == before


@pytest.mark.parametrize(
    "state",
    [S.PREVIEW_IN_PROGRESS, S.PREVIEW_SUCCEEDED, S.IMPORT_IN_PROGRESS, S.IMPORT_SUCCEEDED],
)
def test_preview_for_a_job_in_the_wrong_state_changes_nothing(catalogue, state):
    job = create_job(csv_bytes(stock_rows(3)), state=state)
    before = snapshot(job)
    tasks.preview_job.apply((job.pk,))
    assert snapshot(job) == before


def test_tasks_for_a_deleted_job_do_nothing(catalogue):
    tasks.preview_job.apply((987654,))
    tasks.import_job.apply((987654,))


# --- failures never leave a job in progress --------------------------------------------------


def test_unexpected_preview_error_fails_the_preview(catalogue, run_on_commit, monkeypatch):
    def boom(self, row, row_number):
        raise RuntimeError("hook broke")

    monkeypatch.setattr(StockRecordImportJob, "before_import_row", boom)
    job = previewed(csv_bytes(stock_rows(2)), run_on_commit)
    assert job.state == S.PREVIEW_FAILED
    assert job.message == "The preview failed unexpectedly: hook broke"


def test_unexpected_import_error_fails_the_import_and_writes_nothing(
    catalogue, run_on_commit, monkeypatch
):
    job = previewed(csv_bytes(stock_rows(5)), run_on_commit)

    def boom(self, instance, row_number, action):
        if row_number == 4:
            raise RuntimeError("hook broke")

    monkeypatch.setattr(StockRecordImportJob, "after_import_row", boom)
    monkeypatch.setattr(StockRecordImportJob, "batch_size", 2)
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.state == S.IMPORT_FAILED
    assert job.message == (
        "The import failed and nothing was written: hook broke. "
        "Run the preview again (with a corrected file if needed), then confirm."
    )
    assert StockRecord.objects.count() == 0
    assert confirm_refusal(job) is not None
    # The lock is released: another job of the target can be confirmed.
    other = previewed(csv_bytes(stock_rows(1)), run_on_commit)
    assert confirm_refusal(other) is None


# --- signals ---------------------------------------------------------------------------------


@pytest.fixture
def received():
    """Record the library's signals: ``[(name, sender, job pk, other arguments)]``."""
    events = []
    hooks = [
        (signals.preview_finished, "preview_finished"),
        (signals.import_finished, "import_finished"),
        (signals.import_failed, "import_failed"),
        (signals.job_cancelled, "job_cancelled"),
    ]
    receivers = []
    for signal, name in hooks:

        def receiver(sender, job, _name=name, **kwargs):
            kwargs.pop("signal", None)
            events.append((_name, sender, job.pk, kwargs))

        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    yield events
    for signal, receiver in receivers:
        signal.disconnect(receiver)


def test_signals_follow_the_job(catalogue, run_on_commit, received):
    job = imported(csv_bytes(stock_rows(3)), run_on_commit)
    assert [(name, sender, pk) for name, sender, pk, _ in received] == [
        ("preview_finished", StockRecordImportJob, job.pk),
        ("import_finished", StockRecordImportJob, job.pk),
    ]
    assert received[0][3]["result"].total == 3
    assert received[1][3]["result"].new == 3


def test_failed_preview_signal_carries_the_message(catalogue, run_on_commit, received):
    job = previewed(b"", run_on_commit)
    [(name, _, pk, kwargs)] = received
    assert (name, pk, kwargs["result"], kwargs["message"]) == (
        "preview_finished",
        job.pk,
        None,
        "The file is empty.",
    )


# --- cancel ----------------------------------------------------------------------------------


@pytest.mark.parametrize("previewed_first", [False, True], ids=["created", "preview-succeeded"])
def test_cancel_before_the_import(catalogue, run_on_commit, received, previewed_first):
    if previewed_first:
        job = previewed(csv_bytes(stock_rows(2)), run_on_commit)
        assert job.state == S.PREVIEW_SUCCEEDED
        received.clear()
    else:
        job = create_job(csv_bytes(stock_rows(2)))  # not committed: the preview is not sent
    with run_on_commit():
        actions.cancel_import(job)
    assert job.state == S.CANCELLED
    assert job.cancelled_at is not None
    assert [name for name, *_ in received] == ["job_cancelled"]
    # A preview delivered late finds the job cancelled.
    tasks.preview_job.apply((job.pk,))
    job.refresh_from_db()
    assert job.state == S.CANCELLED
    with pytest.raises(TransitionRefusedError, match="This job was cancelled"):
        actions.confirm_import(job)


@pytest.mark.parametrize("state", [S.IMPORT_SUCCEEDED, S.IMPORT_FAILED, S.CANCELLED])
def test_finished_jobs_cannot_be_cancelled(catalogue, state):
    job = create_job(csv_bytes(stock_rows(1)), state=state)
    with pytest.raises(TransitionRefusedError, match="cannot be cancelled"):
        actions.cancel_import(job)
    job.refresh_from_db()
    assert job.state == state


def test_cancel_requested_during_the_import_writes_nothing(
    catalogue, run_on_commit, monkeypatch, received
):
    job = previewed(csv_bytes(stock_rows(10)), run_on_commit)
    seen_rows = []

    def cancel_on_third_row(self, instance, row_number, action):
        seen_rows.append(row_number)
        if row_number == 4:
            actions.cancel_import(self)

    monkeypatch.setattr(StockRecordImportJob, "after_import_row", cancel_on_third_row)
    monkeypatch.setattr(StockRecordImportJob, "batch_size", 2)
    received.clear()
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.state == S.CANCELLED
    assert job.cancelled_at is not None
    assert seen_rows == [2, 3, 4, 5]  # stopped after the second batch
    assert StockRecord.objects.count() == 0
    assert [name for name, *_ in received] == ["job_cancelled"]
    assert caches["default"].get(f"data_exchange_tool:job:{job.pk}:cancel") is None


def test_cancel_requested_after_the_last_batch_writes_nothing(
    catalogue, run_on_commit, monkeypatch
):
    job = previewed(csv_bytes(stock_rows(3)), run_on_commit)
    monkeypatch.setattr(
        StockRecordImportJob, "after_import", lambda self, result: actions.cancel_import(self)
    )
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.state == S.CANCELLED
    assert StockRecord.objects.count() == 0


# --- rerun and automatic confirmation --------------------------------------------------------


def test_rerun_preview_with_a_replaced_file(catalogue, run_on_commit):
    rows = stock_rows(3)
    rows[1][3] = "not a price"
    job = previewed(csv_bytes(rows), run_on_commit)
    assert (job.state, job.invalid_rows) == (S.PREVIEW_SUCCEEDED, 1)
    assert ImportJobRowError.objects.filter(job=job).count() == 1
    fixed = csv_bytes(stock_rows(4))
    storage, replaced = job.file.storage, job.file.name
    assert storage.exists(replaced)
    with run_on_commit():
        actions.rerun_preview(job, ContentFile(fixed, name="fixed.csv"))
    job.refresh_from_db()
    assert job.state == S.PREVIEW_SUCCEEDED, job.message
    assert not storage.exists(replaced), "the replaced upload is deleted after the commit"
    assert storage.exists(job.file.name)
    assert (job.total_rows, job.new_rows, job.invalid_rows) == (4, 4, 0)
    assert job.file_name == "fixed.csv"
    assert job.file.name.endswith("/fixed.csv")
    assert job.file_size == len(fixed)
    assert job.file_sha256 == hashlib.sha256(fixed).hexdigest()
    assert not ImportJobRowError.objects.filter(job=job).exists()
    assert ImportJobPreviewRow.objects.filter(job=job).count() == 4
    with run_on_commit():
        actions.confirm_import(job)
    assert StockRecord.objects.count() == 4


def test_rerun_preview_after_a_failed_preview(catalogue, run_on_commit):
    job = previewed(b"", run_on_commit)
    assert job.state == S.PREVIEW_FAILED
    with run_on_commit():
        actions.rerun_preview(job, ContentFile(csv_bytes(stock_rows(2)), name="again.csv"))
    job.refresh_from_db()
    assert job.state == S.PREVIEW_SUCCEEDED
    assert job.message == ""


def test_rerun_preview_without_a_file_reads_the_same_file(catalogue, run_on_commit):
    job = previewed(csv_bytes(stock_rows(2)), run_on_commit)
    sha = job.file_sha256
    with run_on_commit():
        actions.rerun_preview(job)
    job.refresh_from_db()
    assert (job.state, job.total_rows, job.file_sha256) == (S.PREVIEW_SUCCEEDED, 2, sha)
    assert job.file.storage.exists(job.file.name)


def test_a_refused_rerun_keeps_the_file(catalogue, run_on_commit):
    job = create_job(csv_bytes(stock_rows(2)), state=S.IMPORT_SUCCEEDED)
    name = job.file.name
    with run_on_commit(), pytest.raises(TransitionRefusedError):
        actions.rerun_preview(job, ContentFile(b"x", name="other.csv"))
    assert job.file.storage.exists(name)


@pytest.mark.parametrize("state", [S.CREATED, S.IMPORT_IN_PROGRESS, S.IMPORT_SUCCEEDED])
def test_rerun_preview_is_refused_unless_the_preview_finished(catalogue, state):
    job = create_job(csv_bytes(stock_rows(1)), state=state)
    with pytest.raises(TransitionRefusedError, match="only once it has finished"):
        actions.rerun_preview(job)


def test_skip_preview_confirmation_imports_after_a_clean_preview(catalogue, run_on_commit):
    from django.contrib.auth.models import User

    user = User.objects.create_user("ana")
    job = previewed(
        csv_bytes(stock_rows(3)),
        run_on_commit,
        options={"skip_preview_confirmation": True},
        created_by=user,
    )
    assert job.state == S.IMPORT_SUCCEEDED, job.message
    assert job.confirmed_by == user
    assert StockRecord.objects.count() == 3


def test_skip_preview_confirmation_waits_when_the_preview_found_invalid_rows(
    catalogue, run_on_commit
):
    rows = stock_rows(3)
    rows[0][1] = "P-404"
    job = previewed(csv_bytes(rows), run_on_commit, options={"skip_preview_confirmation": True})
    assert (job.state, job.invalid_rows) == (S.PREVIEW_SUCCEEDED, 1)
    assert StockRecord.objects.count() == 0


def test_cancel_during_the_preview_stops_it(catalogue, run_on_commit, monkeypatch):
    seen_rows = []

    def cancel_on_row_3(self, row, row_number):
        seen_rows.append(row_number)
        if row_number == 3:
            actions.cancel_import(self)

    monkeypatch.setattr(StockRecordImportJob, "before_import_row", cancel_on_row_3)
    monkeypatch.setattr(StockRecordImportJob, "batch_size", 2)
    job = previewed(csv_bytes(stock_rows(8)), run_on_commit)
    assert job.state == S.CANCELLED
    assert seen_rows == [2, 3]  # the next batch never started
    assert job.preview_finished_at is None


def test_cancel_after_confirm_before_the_task_starts(catalogue, run_on_commit):
    job = previewed(csv_bytes(stock_rows(3)), run_on_commit)
    actions.confirm_import(job)  # not committed: the import task waits in the queue
    actions.cancel_import(job)
    assert job.state == S.CANCELLED
    tasks.import_job.apply((job.pk,))
    job.refresh_from_db()
    assert job.state == S.CANCELLED
    assert StockRecord.objects.count() == 0
    # The cancelled job released the lock.
    assert confirm_refusal(previewed(csv_bytes(stock_rows(1)), run_on_commit)) is None


def test_a_file_gone_from_storage_fails_the_preview(catalogue, run_on_commit):
    job = create_job(csv_bytes(stock_rows(2)))  # not committed: the preview waits
    job.file.storage.delete(job.file.name)
    tasks.preview_job.apply((job.pk,))
    job.refresh_from_db()
    assert job.state == S.PREVIEW_FAILED
    assert job.message == "The uploaded file 'stock.csv' is missing from storage; upload it again."


# --- stored files ----------------------------------------------------------------------------


def test_deleting_jobs_deletes_their_files_after_the_commit(catalogue, run_on_commit):
    first, second = (previewed(csv_bytes(stock_rows(1)), run_on_commit) for _ in range(2))
    storage = first.file.storage
    names = [first.file.name, second.file.name]
    assert all(storage.exists(name) for name in names)
    with run_on_commit():
        first.delete()
        assert storage.exists(names[0]), "nothing is deleted before the commit"
    assert not storage.exists(names[0])
    with run_on_commit():
        ImportJob.objects.filter(pk=second.pk).delete()  # loaded as the job type
    assert not storage.exists(names[1])


def test_files_are_kept_when_delete_files_is_off(catalogue, run_on_commit, settings):
    settings.DATA_EXCHANGE_DELETE_FILES = False
    job = previewed(csv_bytes(stock_rows(1)), run_on_commit)
    name = job.file.name
    with run_on_commit():
        actions.rerun_preview(job, ContentFile(csv_bytes(stock_rows(2)), name="new.csv"))
        job.delete()
    assert job.file.storage.exists(name)


def test_deleting_a_target_row_does_not_go_through_the_job_receiver(catalogue):
    from django.db.models.signals import post_delete

    assert not post_delete.has_listeners(StockRecord)


# --- the package -----------------------------------------------------------------------------


def test_importing_the_package_registers_every_task_under_its_name():
    """``autodiscover_tasks`` imports ``data_exchange_tool.tasks``: that alone registers them all,
    and the name a preview's part sends the single preview by is ``preview_job``'s."""
    from celery import current_app

    from data_exchange_tool.tasks import parts

    names = {
        "data_exchange_tool.preview_job",
        "data_exchange_tool.import_job",
        "data_exchange_tool.export_job",
        "data_exchange_tool.preview_part",
        "data_exchange_tool.import_part",
        "data_exchange_tool.finish_preview",
        "data_exchange_tool.finish_import",
        "data_exchange_tool.reap_stale_jobs",
    }
    registered = {name for name in current_app.tasks if name.startswith("data_exchange_tool.")}
    assert registered == names
    assert current_app.tasks[parts.PREVIEW_JOB] is tasks.preview_job._get_current_object()


def test_a_starting_worker_looks_for_dead_jobs_once(monkeypatch):
    from celery.signals import worker_ready

    from data_exchange_tool.tasks import recovery

    calls = []
    monkeypatch.setattr(recovery, "restart_dead_jobs", lambda: calls.append(1) or {"imports": 0})
    worker_ready.send(sender=None)
    assert calls == [1]
