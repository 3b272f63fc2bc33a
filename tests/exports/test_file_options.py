"""Exports as spreadsheets expect them (#11): typed XLSX cells, CSV with ';' and a BOM."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from openpyxl import load_workbook
from rest_framework.test import APIClient

from data_exchange_tool import actions
from data_exchange_tool.exceptions import ExportFilterError, ExportLimitError
from data_exchange_tool.models import ExportJob
from data_exchange_tool.states import ExportState, JobState
from data_exchange_tool.storage import get_storage
from data_exchange_tool.writers import BufferSink, Kind, XLSXWriter
from example_project.demo.models import StockRecord, StockRecordExportJob, StockRecordImportJob
from tests.helpers import create_job, new_export, run_export
from tests.testapp.models import Sample, SampleExportJob, SampleImportJob

pytestmark = pytest.mark.django_db


def stored(job: ExportJob) -> bytes:
    with get_storage().open(job.file.name, "rb") as handle:
        return handle.read()


@pytest.fixture
def samples():
    moment = datetime.datetime(2024, 3, 5, 14, 30, tzinfo=datetime.UTC)
    rows = [
        ("00123", "01010", "1.50", 3, "3.14159", datetime.date(2024, 3, 5), moment, True, "=x"),
        ("A-1", "99999", "-0.10", -7, "0.5", datetime.date(1899, 12, 31), None, None, "é\nü"),
        ("", "00000", "12345678.99", 10**12, "0", None, moment, False, ""),
    ]
    for code, zip_, price, qty, ratio, day, when, active, note in rows:
        Sample.objects.create(
            code=code, zip=zip_, price=Decimal(price), quantity=qty, ratio=Decimal(ratio),
            date=day, updated=when, active=active, note=note, name=f"n{code}",
        )  # fmt: skip
    return list(Sample.objects.order_by("pk").values())


def test_xlsx_cells_are_typed_numbers_dates_and_text(samples):
    job = run_export(new_export(SampleExportJob, format="xlsx"))
    assert job.state == ExportState.EXPORT_SUCCEEDED, job.message
    sheet = load_workbook(io.BytesIO(stored(job))).active
    header = [cell.value for cell in sheet[1]]
    cells = {name: sheet.cell(row=2, column=header.index(name) + 1) for name in header}
    assert (cells["price"].value, cells["price"].number_format) == (1.5, "0.00")
    assert (cells["ratio"].value, cells["ratio"].number_format) == (3.14159, "0.00000")
    assert (cells["quantity"].value, cells["quantity"].data_type) == (3, "n")
    assert cells["date"].value == datetime.datetime(2024, 3, 5)  # noqa: DTZ001 - a date cell
    assert cells["date"].number_format == "yyyy-mm-dd"
    assert (cells["code"].value, cells["code"].data_type) == ("00123", "s")
    assert cells["zip"].value == "01010"
    assert cells["active"].value is True
    assert cells["updated"].value == "2024-03-05T14:30:00Z"  # a date-time stays ISO text
    assert cells["note"].value == "'=x"  # neutralised, as in CSV
    old_date = sheet.cell(row=3, column=header.index("date") + 1)
    assert old_date.value == "1899-12-31"  # before March 1900: text, Excel's serials are wrong
    big = sheet.cell(row=4, column=header.index("price") + 1)
    assert (big.value, big.number_format) == (12345678.99, "0.00")


def test_the_typed_xlsx_imports_back_unchanged(samples, run_on_commit):
    content = stored(run_export(new_export(SampleExportJob, format="xlsx")))
    Sample.objects.all().delete()
    with run_on_commit():
        job = create_job(content, "samples.xlsx", job_type=SampleImportJob)
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert job.invalid_rows == 0, list(job.row_errors.values_list("column", "message"))
    with run_on_commit():
        actions.confirm_import(job)
    back = list(Sample.objects.order_by("pk").values())
    assert [{k: v for k, v in row.items() if k != "id"} for row in back] == [
        {k: v for k, v in row.items() if k != "id"} for row in samples
    ]


def test_numbers_past_15_digits_stay_text():
    sink = BufferSink()
    writer = XLSXWriter(sink, ["d", "i"], kinds=[Kind(Kind.DECIMAL, 2), Kind(Kind.INTEGER)])
    writer.write_rows([["12345678901234.56", 123456789012345678], ["-5.00", 42]])
    writer.close()
    sheet = load_workbook(io.BytesIO(sink.take())).active
    assert [c.value for c in sheet[2]] == ["12345678901234.56", "123456789012345678"]
    assert [c.value for c in sheet[3]] == [-5, 42]


def test_a_cell_past_excels_limit_fails_the_export_in_words():
    writer = XLSXWriter(BufferSink(), ["t"])
    with pytest.raises(ExportLimitError, match="Cell A2 holds 32,768 characters"):
        writer.write_rows([["x" * 32768]])
    writer.abort()


def test_text_that_looks_like_markup_or_escapes_is_kept():
    sink = BufferSink()
    writer = XLSXWriter(sink, ["t"], neutralize=False)
    texts = ["<r>rich</r>", "a & b <c>", "_x000D_ literal", "cr\rlf\n", " spaced "]
    writer.write_rows([[text] for text in texts])
    writer.close()
    from data_exchange_tool.imports.readers import get_reader

    with get_reader("back.xlsx", io.BytesIO(sink.take())) as reader:
        assert [cells[0] for _, cells in reader.iter_rows()] == texts


# --- CSV for European Excel ----------------------------------------------------------------


@pytest.fixture
def records(catalogue):
    acme, globex = catalogue["partners"]
    product = catalogue["products"][0]
    for i, partner in enumerate([acme, globex]):
        StockRecord.objects.create(
            partner=partner, product=product, partner_sku=f"S;{i}", price=Decimal("2.50")
        )


def test_a_csv_with_semicolons_and_a_bom_imports_back(records, run_on_commit):
    job = actions.start_export(
        StockRecordExportJob,
        file_format="csv",
        options={"delimiter": ";", "bom": True},
        in_process=True,
    )
    assert job.options == {"delimiter": ";", "bom": True}
    content = stored(job)
    assert content.startswith(b"\xef\xbb\xbfpartner;product;partner_sku;price")
    assert b'"S;0"' in content
    with run_on_commit():
        back = create_job(content, "back.csv", job_type=StockRecordImportJob)
    back.refresh_from_db()
    assert (back.file_delimiter, back.file_encoding) == (";", "utf-8-sig")
    assert (back.unchanged_rows, back.invalid_rows) == (2, 0)


def test_a_comma_is_the_default_and_other_delimiters_are_refused(records):
    job = actions.start_export(
        StockRecordExportJob, file_format="csv", options={"delimiter": ","}, in_process=True
    )
    assert job.options == {}
    with pytest.raises(ExportFilterError, match="Unknown delimiter ':'") as refused:
        actions.start_export(StockRecordExportJob, options={"delimiter": ":"})
    assert refused.value.errors == {"delimiter": [str(refused.value)]}
    assert ExportJob.objects.count() == 1


def test_the_api_takes_the_delimiter(records, admin_user, run_on_commit):
    api = APIClient()
    api.force_authenticate(admin_user)
    with run_on_commit():
        response = api.post(
            "/api/exports/stock-record/start/",
            {"format": "csv", "bom": True, "delimiter": "tab"},
            format="json",
        )
    assert response.status_code == 202, response.data
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert job.options == {"bom": True, "delimiter": "\t"}
    rows = list(csv.reader(io.StringIO(stored(job).decode("utf-8-sig")), delimiter="\t"))
    assert rows[0][:2] == ["partner", "product"]
    bad = api.post("/api/exports/stock-record/start/", {"delimiter": "::"}, format="json")
    assert bad.status_code == 400


def test_the_admin_form_and_action_take_it(admin_client, records, run_on_commit):
    with run_on_commit():
        admin_client.post(
            "/admin/demo/stockrecordexportjob/add/",
            {"format": "csv", "filters": "{}", "delimiter": ";"},
        )
    assert ExportJob.objects.get().options == {"delimiter": ";"}
    pks = list(StockRecord.objects.values_list("pk", flat=True))
    with run_on_commit():
        admin_client.post(
            "/admin/demo/stockrecord/",
            {"action": "export_as_csv_excel", ACTION_CHECKBOX_NAME: pks, "index": 0},
        )
    job = ExportJob.objects.order_by("-pk").first()
    assert (job.options["delimiter"], job.options["bom"]) == (";", True)
    assert stored(job).startswith(b"\xef\xbb\xbfpartner;")


def test_export_job_takes_the_delimiter(records, tmp_path):
    path = tmp_path / "out.csv"
    call_command("export_job", "StockRecordExportJob", str(path), "--delimiter", ";", "--bom")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfpartner;product;")
