"""The preview and import runs through the eager tasks (fast layer)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from data_exchange_tool.models import ImportJob, ImportJobPreviewRow, ImportJobRowError
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord, StockRecordImportJob
from tests.helpers import create_job, csv_bytes, stock_rows, xlsx_bytes

pytestmark = pytest.mark.django_db


def previewed(content: bytes, run_on_commit, name: str = "stock.csv", **fields):
    with run_on_commit():
        job = create_job(content, name, **fields)
    job.refresh_from_db()
    return job


def test_preview_counts_new_rows_and_records_a_sample(catalogue, run_on_commit):
    job = previewed(csv_bytes(stock_rows(5)), run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.total_rows, job.new_rows, job.invalid_rows) == (5, 5, 0)
    assert job.file_encoding == "utf-8"
    assert ImportJobPreviewRow.objects.filter(job=job, action="new").count() == 5
    assert StockRecord.objects.count() == 0


def test_confirm_imports_every_row(catalogue, run_on_commit):
    job = previewed(csv_bytes(stock_rows(7)), run_on_commit)
    with run_on_commit():
        job.confirm()
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert job.new_rows == 7
    record = StockRecord.objects.get(partner_sku="SKU-000001")
    assert record.price == Decimal("1.50")
    assert record.partner.name == "ACME"


def test_preview_reports_updates_with_old_and_new_values(catalogue, run_on_commit):
    first = previewed(csv_bytes(stock_rows(3)), run_on_commit)
    with run_on_commit():
        first.confirm()
    rows = stock_rows(3)
    rows[1][3] = "99.99"
    job = previewed(csv_bytes(rows), run_on_commit)
    assert (job.new_rows, job.updated_rows, job.unchanged_rows) == (0, 1, 2)
    sample = ImportJobPreviewRow.objects.get(job=job, action="update")
    assert sample.row_number == 3
    assert sample.changes == {"price": ["1.50", "99.99"]}


def test_invalid_rows_are_recorded_with_column_and_values(catalogue, run_on_commit):
    rows = stock_rows(4)
    rows[1][0] = "Nobody"
    rows[2][3] = "abc"
    rows[3][2] = rows[0][2]
    job = previewed(csv_bytes(rows), run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED
    assert job.invalid_rows == 3
    errors = list(ImportJobRowError.objects.filter(job=job).values_list("row_number", "column"))
    assert errors == [(3, "partner"), (4, "price"), (5, "partner_sku")]
    duplicate = ImportJobRowError.objects.get(job=job, row_number=5)
    assert "Duplicate of row 2" in duplicate.message
    assert duplicate.values["partner_sku"] == rows[0][2]
    assert job.confirm_refusal().startswith("The preview found 3 invalid row(s)")


def test_xlsx_is_read_like_csv(catalogue, run_on_commit):
    rows = [["ACME", "P-1", "00123", 4.5, 10, 1], ["Globex", "P-2", 77, 5.0, 3.0, 0]]
    job = previewed(xlsx_bytes(rows), run_on_commit, name="stock.xlsx")
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    with run_on_commit():
        job.confirm()
    assert set(StockRecord.objects.values_list("partner_sku", flat=True)) == {"00123", "77"}


def test_base_manager_returns_job_types(catalogue, run_on_commit):
    job = previewed(csv_bytes(stock_rows(1)), run_on_commit)
    assert type(ImportJob.objects.get(pk=job.pk)) is StockRecordImportJob
    assert StockRecordImportJob.objects.count() == 1
