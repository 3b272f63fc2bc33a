"""The management commands: import_file and export_job, with their exit statuses."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from data_exchange_tool.models import ExportJob, ImportJob
from data_exchange_tool.states import ExportState, JobState
from example_project.demo.models import StockRecord
from tests.helpers import csv_bytes, stock_rows, xlsx_bytes

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_file_previews_then_imports_a_clean_file(catalogue, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_bytes(csv_bytes(stock_rows(6)))
    out, _ = run("import_file", "demo.stockrecordimportjob", str(path))
    assert "preview: 6 row(s): 6 new" in out
    assert "imported 6 row(s): 6 new" in out
    job = ImportJob.objects.get()
    assert job.state == JobState.IMPORT_SUCCEEDED
    assert job.file_name == "stock.csv"
    assert StockRecord.objects.count() == 6


def test_import_file_refuses_invalid_rows_unless_forced(catalogue, tmp_path):
    rows = stock_rows(4)
    rows[2][0] = "Nobody"
    path = tmp_path / "stock.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    with pytest.raises(CommandError, match="1 invalid row"):
        run("import_file", "StockRecordImportJob", str(path))
    assert StockRecord.objects.count() == 0
    out, err = run("import_file", "StockRecordImportJob", str(path), "--force")
    assert "row 4" in err
    assert "3 new" in out
    assert StockRecord.objects.count() == 3


def test_import_file_exit_status_is_1_on_failure(catalogue, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"nothing,useful\n1,2\n")
    with pytest.raises(CommandError, match="the preview failed: Missing required column") as caught:
        run("import_file", "demo.stockrecordimportjob", str(path))
    assert caught.value.returncode == 1
    with pytest.raises(CommandError, match="No file at"):
        run("import_file", "demo.stockrecordimportjob", str(tmp_path / "absent.csv"))
    with pytest.raises(CommandError, match=r"Job types: .*demo\.stockrecordimportjob"):
        run("import_file", "nope", str(path))


def test_import_file_preview_only_writes_nothing(catalogue, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_bytes(csv_bytes(stock_rows(2)))
    run("import_file", "demo.stockrecordimportjob", str(path), "--preview-only")
    assert ImportJob.objects.get().state == JobState.PREVIEW_SUCCEEDED
    assert StockRecord.objects.count() == 0


def test_export_job_writes_the_filtered_rows_to_a_path(catalogue, tmp_path, admin_user):
    acme, globex = catalogue["partners"]
    for i, partner in enumerate([acme, globex, globex]):
        StockRecord.objects.create(
            partner=partner,
            product=catalogue["products"][0],
            partner_sku=f"S{i}",
            price=Decimal("4.20"),
        )
    path = tmp_path / "out.csv"
    out, _ = run(
        "export_job",
        "demo.stockrecordexportjob",
        str(path),
        "--filter",
        "partner=Globex",
        "--user",
        "admin",
    )
    assert "2 row(s)" in out
    with open(path, newline="", encoding="utf-8") as exported:
        rows = list(csv.DictReader(exported))
    assert [r["partner_sku"] for r in rows] == ["S1", "S2"]
    job = ExportJob.objects.get()
    assert (job.state, job.filters, job.created_by) == (
        ExportState.EXPORT_SUCCEEDED,
        {"partner": "Globex"},
        admin_user,
    )


def test_export_job_format_from_the_extension_and_option(catalogue, tmp_path):
    run("export_job", "StockRecordExportJob", str(tmp_path / "out.xlsx"))
    assert (tmp_path / "out.xlsx").read_bytes()[:2] == b"PK"
    run("export_job", "StockRecordExportJob", str(tmp_path / "out.dat"), "--format", "csv", "--bom")
    assert (tmp_path / "out.dat").read_bytes()[:3] == b"\xef\xbb\xbf"


def test_export_job_exit_status_is_1_on_bad_filters(catalogue, tmp_path):
    with pytest.raises(CommandError, match="price_min") as caught:
        run(
            "export_job", "StockRecordExportJob", str(tmp_path / "x.csv"), "--filter", "price_min=x"
        )
    assert caught.value.returncode == 1
    with pytest.raises(CommandError, match="name=value"):
        run("export_job", "StockRecordExportJob", str(tmp_path / "x.csv"), "--filter", "oops")
    assert not ExportJob.objects.exists()


def test_repeated_filters_become_a_list():
    from data_exchange_tool.management.commands.export_job import parse_filters

    assert parse_filters(["a=1", "b=x", "a=2", "a=3=4"]) == {"a": ["1", "2", "3=4"], "b": "x"}
