"""The key promise: a file exported from a target imports back unchanged, in CSV and XLSX.

The rows hold what a spreadsheet would mangle or run: prices with trailing zeros, SKUs with
leading zeros, negative numbers, and text starting with ``=``, ``+``, ``-``, ``@`` or a quote.
(Surrounding whitespace is not among them: DRF's ``CharField`` trims it on import, so a value
with it cannot have come from an import either.)
Exported text that a spreadsheet would run as a formula is prefixed with a quote; the import takes
exactly that quote off again (``formulas.restore``), so every value comes back as it was.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from data_exchange_tool import actions
from data_exchange_tool.states import ExportState, JobState
from data_exchange_tool.storage import get_storage
from example_project.demo.models import (
    Partner,
    Product,
    StockRecord,
    StockRecordImportJob,
)
from tests.helpers import create_job, new_export, run_export

pytestmark = pytest.mark.django_db

TRICKY = [
    # partner, product, partner_sku, price, num_in_stock, num_allocated
    ("ACME", "P-1", "007", Decimal("10.50"), 5, 0),
    ("ACME", "P-2", "=SUM(A1:A9)", Decimal("0.10"), 1, 1),
    ("ACME", "P-3", "-dash", Decimal("-5.00"), 0, -5),
    ("ACME", "P-1", "+plus", None, 3, 2),
    ("ACME", "P-2", "@handle", Decimal("1000000.00"), 7, 0),
    ("ACME", "P-3", "'=already quoted", Decimal("2.00"), 2, 1),
    ("=Evil", "-P", '=HYPERLINK("http://x")', Decimal("3.30"), 4, 0),
    ("Globex", "P-1", "-12", Decimal("12.00"), 9, 9),
    ("Globex", "P-2", "spaced  out", Decimal("99.99"), 1, 0),
    ("Globex", "P-3", 'naïve, "quoted"\nnew line', Decimal("7.07"), 8, 8),
]


def snapshot() -> list[tuple]:
    return sorted(
        StockRecord.objects.values_list(
            "partner__name",
            "product__sku",
            "partner_sku",
            "price",
            "num_in_stock",
            "num_allocated",
        )
    )


@pytest.fixture
def tricky_records(db):
    partners = {n: Partner.objects.create(name=n) for n in ("ACME", "Globex", "=Evil")}
    products = {s: Product.objects.create(sku=s) for s in ("P-1", "P-2", "P-3", "-P")}
    for partner, product, sku, price, stock, allocated in TRICKY:
        StockRecord.objects.create(
            partner=partners[partner],
            product=products[product],
            partner_sku=sku,
            price=price,
            num_in_stock=stock,
            num_allocated=allocated,
        )
    return snapshot()


def export_bytes(file_format: str) -> tuple[bytes, str]:
    job = run_export(new_export(format=file_format))
    assert job.state == ExportState.EXPORT_SUCCEEDED, job.message
    assert job.total_rows == len(TRICKY)
    with get_storage().open(job.file.name, "rb") as stored:
        return stored.read(), job.file_name


def import_file(content: bytes, name: str, run_on_commit):
    with run_on_commit():
        job = create_job(content, name, job_type=StockRecordImportJob)
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    return job


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_exported_file_imports_back_unchanged(tricky_records, run_on_commit, file_format):
    content, name = export_bytes(file_format)

    job = import_file(content, name, run_on_commit)
    assert job.invalid_rows == 0, list(job.row_errors.values_list("column", "message"))
    assert (job.new_rows, job.updated_rows, job.unchanged_rows) == (0, 0, len(TRICKY))

    StockRecord.objects.all().delete()
    job = import_file(content, name, run_on_commit)
    assert job.new_rows == len(TRICKY)
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert snapshot() == tricky_records


def test_formula_text_is_neutralised_in_the_csv_but_numbers_never(tricky_records):
    content, _ = export_bytes("csv")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    by_sku = {row["partner_sku"]: row for row in rows}
    assert "'=SUM(A1:A9)" in by_sku
    assert "'-dash" in by_sku
    assert "'+plus" in by_sku
    assert "'@handle" in by_sku
    assert "''=already quoted" in by_sku
    assert by_sku['\'=HYPERLINK("http://x")']["partner"] == "'=Evil"
    assert by_sku['\'=HYPERLINK("http://x")']["product"] == "'-P"
    assert by_sku["'-dash"]["price"] == "-5.00"  # numbers stay numbers
    assert by_sku["'-dash"]["num_allocated"] == "-5"
    assert "-12" in by_sku  # text that reads as a number is left alone
    assert by_sku["007"]["price"] == "10.50"
    assert by_sku["'+plus"]["price"] == ""


def test_xlsx_cells_are_text_never_formulas(tricky_records, settings):
    from openpyxl import load_workbook

    settings.DATA_EXCHANGE_NEUTRALIZE_FORMULAS = False
    content, _ = export_bytes("xlsx")
    sheet = load_workbook(io.BytesIO(content)).active
    cells = {c.value: c.data_type for row in sheet.iter_rows(min_row=2) for c in row}
    assert cells["=SUM(A1:A9)"] == "s"  # text, even without neutralisation
    assert cells[-5] == "n"


def test_without_neutralisation_the_round_trip_is_exact_too(
    tricky_records, settings, run_on_commit
):
    settings.DATA_EXCHANGE_NEUTRALIZE_FORMULAS = False
    content, name = export_bytes("csv")
    assert b"\r\n=SUM" not in content
    assert b",=SUM(A1:A9)," in content
    job = import_file(content, name, run_on_commit)
    assert (job.unchanged_rows, job.invalid_rows) == (len(TRICKY), 0)


def test_both_render_paths_equal_the_serializers_own_output(tricky_records):
    from data_exchange_tool.exports.rendering import RowRenderer
    from example_project.demo.serializers import ImportStockRecordSerializer

    serializer = ImportStockRecordSerializer()
    expected = [
        list(serializer.to_representation(obj).values())
        for obj in StockRecord.objects.order_by("pk")
    ]
    fast = RowRenderer(serializer, StockRecord)
    assert fast.paths is not None
    assert fast.render_chunk(list(fast.prepare(StockRecord.objects.order_by("pk")))) == expected
    slow = RowRenderer(serializer, StockRecord)
    slow.paths = None  # the instance path, as for serializers with computed fields
    assert slow.render_chunk(list(slow.prepare(StockRecord.objects.order_by("pk")))) == expected
