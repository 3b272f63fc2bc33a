"""Export jobs through the eager task: files, metadata, filters, cancel, idempotency."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from data_exchange_tool import actions, progress
from data_exchange_tool.exceptions import ExportFilterError, TransitionRefusedError
from data_exchange_tool.models import ExportJob
from data_exchange_tool.registry import job_types
from data_exchange_tool.states import ExportState
from data_exchange_tool.storage import get_storage
from data_exchange_tool.tasks import claim_export, export_job
from example_project.demo.models import Partner, Product, StockRecord, StockRecordExportJob
from example_project.demo.serializers import ImportStockRecordSerializer
from tests.helpers import new_export, run_export

pytestmark = pytest.mark.django_db


def add_records(count: int, partner: str = "ACME", price: str = "1.50") -> None:
    owner = Partner.objects.get(name=partner)
    product = Product.objects.get(sku="P-1")
    StockRecord.objects.bulk_create(
        StockRecord(
            partner=owner,
            product=product,
            partner_sku=f"{partner}-{i:04d}",
            price=Decimal(price),
            num_in_stock=i % 4,
        )
        for i in range(count)
    )


def exported(run_on_commit, **kwargs) -> StockRecordExportJob:
    with run_on_commit():
        job = actions.start_export(StockRecordExportJob, **kwargs)
    job.refresh_from_db()
    return job


def rows_of(job: ExportJob) -> list[dict[str, str]]:
    with get_storage().open(job.file.name, "rb") as stored:
        text = stored.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_export_job_types_are_registered_and_borrow_the_import_serializer():
    assert StockRecordExportJob in job_types(ExportJob)
    assert StockRecordExportJob.get_serializer_class() is ImportStockRecordSerializer
    assert ExportJob.objects.model is ExportJob


def test_export_writes_every_row_with_metadata(catalogue, run_on_commit):
    add_records(25)
    job = exported(run_on_commit)
    assert job.state == ExportState.EXPORT_SUCCEEDED, job.message
    assert (job.total_rows, progress.percent(job)) == (25, 100)
    assert job.file_size == get_storage().size(job.file.name) > 0
    assert job.started_at <= job.finished_at
    assert job.duration is not None
    assert job.duration.total_seconds() >= 0
    assert job.file_name.startswith("demo-stockrecord_")
    assert job.file_name.endswith(".csv")
    assert job.file.name.endswith(job.file_name)
    assert job.queue == "dxt_test_export" or job.queue == ""
    rows = rows_of(job)
    assert [r["partner_sku"] for r in rows] == [f"ACME-{i:04d}" for i in range(25)]
    assert rows[0] == {
        "partner": "ACME",
        "product": "P-1",
        "partner_sku": "ACME-0000",
        "price": "1.50",
        "num_in_stock": "0",
        "num_allocated": "0",
    }


def test_from_db_returns_the_job_type():
    job = new_export()
    assert type(ExportJob.objects.get(pk=job.pk)) is StockRecordExportJob


def test_filters_are_stored_and_applied_through_the_filterset(catalogue, run_on_commit):
    add_records(10, "ACME")
    add_records(5, "Globex", price="99.00")
    job = exported(run_on_commit, filters={"partner": "Globex", "price_min": "50"})
    assert job.filters == {"partner": "Globex", "price_min": "50"}
    assert job.total_rows == 5
    assert {r["partner"] for r in rows_of(job)} == {"Globex"}


def test_a_filter_on_a_method_and_a_list_of_values(catalogue, run_on_commit):
    add_records(8)  # num_in_stock = i % 4: two rows of every 4 are out of stock
    job = exported(run_on_commit, filters={"in_stock": "false"})
    assert job.total_rows == 2
    assert {r["num_in_stock"] for r in rows_of(job)} == {"0"}


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"partner": "Nobody"}, "partner"),
        ({"price_min": "cheap"}, "price_min"),
    ],
)
def test_invalid_filters_are_refused_at_start_and_create_nothing(catalogue, filters, field):
    with pytest.raises(ExportFilterError) as caught:
        actions.start_export(StockRecordExportJob, filters=filters)
    assert field in caught.value.errors
    assert field in str(caught.value)
    assert not ExportJob.objects.exists()


def test_unknown_filters_are_refused_not_ignored(catalogue):
    with pytest.raises(ExportFilterError) as caught:
        actions.start_export(StockRecordExportJob, filters={"partner_name": "ACME"})
    assert set(caught.value.errors) == {"partner_name"}
    assert "Unknown export filter(s) partner_name" in str(caught.value)
    assert not ExportJob.objects.exists()


def test_range_parts_are_known_filters(monkeypatch):
    from django_filters import FilterSet, RangeFilter

    class Ranged(FilterSet):
        price = RangeFilter()

        class Meta:
            model = StockRecord
            fields = ("price",)

    monkeypatch.setattr(StockRecordExportJob, "filterset_class", Ranged)
    assert {"price_min", "price_max"} <= StockRecordExportJob.filter_names()
    StockRecordExportJob(filters={"price_min": "1"}).check_filter_names()  # no error
    with pytest.raises(ExportFilterError):
        StockRecordExportJob(filters={"price": "1"}).check_filter_names()


def test_unknown_format_is_refused():
    with pytest.raises(ExportFilterError, match="Unknown export format"):
        actions.start_export(StockRecordExportJob, file_format="pdf")


def test_the_task_runs_on_the_export_queue_after_commit(catalogue, settings, run_on_commit):
    sent = []
    original = export_job.apply_async
    export_job.apply_async = lambda *a, **kw: sent.append(kw) or original(*a, **kw)
    try:
        settings.DATA_EXCHANGE_EXPORT_QUEUE = "exports_here"
        with run_on_commit():
            job = actions.start_export(StockRecordExportJob)
            assert not sent  # nothing is sent before the commit
    finally:
        export_job.apply_async = original
    assert sent[0]["queue"] == "exports_here"
    job.refresh_from_db()
    assert sent[0]["task_id"] == job.task_id
    assert job.state == ExportState.EXPORT_SUCCEEDED


def test_the_task_is_idempotent(catalogue, run_on_commit):
    add_records(3)
    job = exported(run_on_commit)
    name = job.file.name
    export_job.apply(args=(job.pk,))  # delivered twice: nothing changes
    job.refresh_from_db()
    assert (job.state, job.file.name, job.total_rows) == (ExportState.EXPORT_SUCCEEDED, name, 3)


def test_a_dead_task_is_claimed_again_after_the_heartbeat_timeout(catalogue, settings):
    job = new_export()
    assert claim_export(job.pk, "q") is not None
    assert claim_export(job.pk, "q") is None  # running with a fresh heartbeat
    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = -1
    assert claim_export(job.pk, "q") is not None


def test_cancel_a_created_export(catalogue):
    job = new_export()
    actions.cancel_export(job)
    assert job.state == ExportState.CANCELLED
    export_job.apply(args=(job.pk,))
    job.refresh_from_db()
    assert job.state == ExportState.CANCELLED
    assert not job.file
    with pytest.raises(TransitionRefusedError):
        actions.cancel_export(job)


def test_cancel_during_the_run_stops_between_chunks_and_drops_the_file(catalogue, monkeypatch):
    add_records(30)
    monkeypatch.setattr(StockRecordExportJob, "chunk_size", 10)
    job = new_export()
    storage = get_storage()
    before = set(_all_names(storage))
    calls = []

    original = progress.ProgressChannel.report

    def report(self, done, total, *, force=False):
        calls.append(done)
        if done == 10:
            actions.cancel_export(ExportJob.objects.get(pk=job.pk))
        return original(self, done, total, force=force)

    monkeypatch.setattr(progress.ProgressChannel, "report", report)
    run_export(job)
    assert job.state == ExportState.CANCELLED
    assert calls == [0, 10]  # stopped after the first chunk
    assert set(_all_names(storage)) == before


def _all_names(storage) -> list[str]:
    return _walk(storage, "")


def _walk(storage, path: str) -> list[str]:
    try:
        dirs, files = storage.listdir(path)
    except FileNotFoundError:
        return []
    found = [f"{path}/{f}".lstrip("/") for f in files]
    for folder in dirs:
        found.extend(_walk(storage, f"{path}/{folder}".lstrip("/")))
    return found


def test_a_finished_export_does_not_run_again(catalogue):
    job = run_export(new_export())
    assert job.state == ExportState.EXPORT_SUCCEEDED
    name = job.file.name
    assert claim_export(job.pk, "") is None
    assert run_export(job).file.name == name


def test_an_unexpected_error_fails_the_job_with_its_message(catalogue, monkeypatch):
    def broken(self):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(StockRecordExportJob, "get_file_name", broken)
    job = run_export(new_export())
    assert job.state == ExportState.EXPORT_FAILED
    assert "disk on fire" in job.message


def test_bom_option_for_excel(catalogue):
    add_records(1)
    job = run_export(new_export(options={"bom": True}))
    with get_storage().open(job.file.name, "rb") as stored:
        assert stored.read(3) == b"\xef\xbb\xbf"


def test_xlsx_export(catalogue):
    from openpyxl import load_workbook

    add_records(4)
    job = run_export(new_export(format="xlsx"))
    assert job.file_name.endswith(".xlsx")
    assert job.format == "xlsx"
    with get_storage().open(job.file.name, "rb") as stored:
        sheet = load_workbook(io.BytesIO(stored.read()), read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        price = next(iter(sheet.iter_rows(min_row=2, max_row=2)))[3]
    assert rows[0] == (
        "partner",
        "product",
        "partner_sku",
        "price",
        "num_in_stock",
        "num_allocated",
    )
    # The price is a number cell shown with its two decimals (it was the text "1.50"): #11.
    assert rows[1] == ("ACME", "P-1", "ACME-0000", 1.5, 0, 0)
    assert (price.data_type, price.number_format) == ("n", "0.00")
    assert len(rows) == 5


def test_the_reaper_fails_stale_imports_and_exports(catalogue, settings):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from data_exchange_tool.models import ImportJob
    from data_exchange_tool.states import JobState
    from data_exchange_tool.tasks import reap_stale_jobs
    from example_project.demo.models import StockRecordImportJob

    settings.DATA_EXCHANGE_HEARTBEAT_TIMEOUT = 60
    alive, dead = (new_export() for _ in range(2))
    for job in (alive, dead):
        claim_export(job.pk, "q")
    preview = StockRecordImportJob.objects.create(state=JobState.PREVIEW_IN_PROGRESS)
    old = timezone.now() - timedelta(seconds=61)
    ExportJob.objects.filter(pk=dead.pk).update(heartbeat_at=old)
    ImportJob.objects.filter(pk=preview.pk).update(heartbeat_at=old)

    assert reap_stale_jobs() == {"previews": 1, "imports": 0, "exports": 1}
    for job in (alive, dead, preview):
        job.refresh_from_db()
    assert alive.state == ExportState.EXPORT_IN_PROGRESS
    assert dead.state == ExportState.EXPORT_FAILED
    assert "start the export again" in dead.message
    assert preview.state == JobState.PREVIEW_FAILED
    assert claim_export(dead.pk, "q") is None, "a late delivery does not revive it"

    out = io.StringIO()
    call_command("reap_stale_jobs", stdout=out)
    assert out.getvalue().startswith("Failed 0 preview(s), 0 import(s) and 0 export(s)")


def test_deleting_an_export_deletes_its_file(catalogue, run_on_commit):
    add_records(2)
    job = exported(run_on_commit)
    storage, name = get_storage(), job.file.name
    assert storage.exists(name)
    with run_on_commit():
        ExportJob.objects.filter(pk=job.pk).delete()
    assert not storage.exists(name)
