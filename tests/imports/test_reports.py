"""The error report and the template, shared by the admin and the API."""

from __future__ import annotations

import pytest

from data_exchange_tool import actions
from data_exchange_tool.imports.reports import error_report_rows, template_columns
from data_exchange_tool.writers import stream_table
from example_project.demo.models import StockRecordImportJob
from tests.helpers import STOCK_HEADERS, create_job, csv_bytes, stock_rows

pytestmark = pytest.mark.django_db


def test_a_forced_import_reports_each_invalid_row_once(catalogue, run_on_commit):
    rows = stock_rows(4)
    rows[1][0] = "Nobody"
    rows[2][3] = "=1+1"
    with run_on_commit():
        job = create_job(csv_bytes(rows), force_import=True)
    job.refresh_from_db()
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.row_errors.filter(phase="preview").count() == 2
    assert job.row_errors.filter(phase="import").count() == 2

    report = list(error_report_rows(job))
    assert report[0] == [*STOCK_HEADERS, "errors"]
    assert [row[2] for row in report[1:]] == [rows[1][2], rows[2][2]]
    assert report[1][-1] == "partner: Object with name=Nobody does not exist."
    text = b"".join(stream_table(report, "csv", bom=True)).decode("utf-8")
    assert text.startswith("\ufeff")
    assert ",'=1+1," in text  # neutralised for spreadsheets


def test_template_uses_the_file_names_of_mapped_columns():
    from tests.testapp.models import TagImportJob

    assert template_columns(TagImportJob) == ["Tag code", "label", "weight"]
    assert template_columns(StockRecordImportJob) == STOCK_HEADERS


def test_the_report_takes_the_columns_the_preview_recorded(catalogue, run_on_commit, monkeypatch):
    rows = stock_rows(3)
    rows[1][0] = "Nobody"
    with run_on_commit():
        job = create_job(csv_bytes([["x", *r] for r in rows], ["Extra", *STOCK_HEADERS]))
    job.refresh_from_db()
    assert job.file_headers == ["Extra", *STOCK_HEADERS]

    def no_reading(*args, **kwargs):
        raise AssertionError("the stored upload is not read again")

    monkeypatch.setattr("data_exchange_tool.imports.reports.open_stream", no_reading)
    report = list(error_report_rows(job))
    assert report[0] == ["Extra", *STOCK_HEADERS, "errors"]
    assert report[1][:2] == ["x", "Nobody"]


def test_a_job_without_recorded_columns_reads_them_from_its_file(catalogue, run_on_commit):
    rows = stock_rows(2)
    rows[0][0] = "Nobody"
    with run_on_commit():
        job = create_job(csv_bytes(rows))
    StockRecordImportJob.objects.filter(pk=job.pk).update(file_headers=[])
    job.refresh_from_db()
    assert next(error_report_rows(job)) == [*STOCK_HEADERS, "errors"]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.xlsx", "xlsx"), ("a.XLS", "xlsx"), ("a.ods", "xlsx"), ("a.xlsb", "xlsx"),
     ("a.csv", "csv"), ("a.json", "csv"), ("a.jsonl", "csv"), ("a.tsv", "csv")],
)  # fmt: skip
def test_a_spreadsheets_error_report_is_a_workbook(name, fmt):
    from data_exchange_tool.imports.reports import file_format

    assert file_format(name) == fmt
