"""Helpers that build files and jobs in code (no fixtures on disk)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from django.core.files.base import ContentFile

from data_exchange_tool import actions
from example_project.demo.models import (
    Partner,
    Product,
    StockRecordExportJob,
    StockRecordImportJob,
)

STOCK_HEADERS = ["partner", "product", "partner_sku", "price", "num_in_stock", "num_allocated"]


def make_catalogue() -> dict[str, Any]:
    """Create the partners and products the stock record files refer to."""
    partners = [Partner.objects.create(name=name) for name in ("ACME", "Globex")]
    products = [Product.objects.create(sku=f"P-{i}", title=f"Product {i}") for i in (1, 2, 3)]
    return {"partners": partners, "products": products}


def csv_bytes(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str] = STOCK_HEADERS,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> bytes:
    """Return a CSV file with ``headers`` and ``rows``."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]], headers: Sequence[str] = STOCK_HEADERS) -> bytes:
    """Return an XLSX workbook with ``headers`` and ``rows`` on its first sheet."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def create_job(
    content: bytes,
    name: str = "stock.csv",
    job_type: type = StockRecordImportJob,
    *,
    created_by: Any = None,
    **fields: Any,
) -> Any:
    """Upload a file as a new job (its preview is sent when the transaction commits)."""
    job = job_type(file=ContentFile(content, name=name), file_name=name, **fields)
    job.created_by = created_by
    return actions.submit_import(job)


def new_export(job_type: type = StockRecordExportJob, user: Any = None, **fields: Any) -> Any:
    """Create an export without starting its task (its format and filters are checked)."""
    job = job_type(created_by=user, **fields)
    job.save()
    return job


def run_export(job: Any) -> Any:
    """Run the export task of ``job`` in this process; return the job read again."""
    from data_exchange_tool.tasks import export_job

    export_job(job.pk)
    job.refresh_from_db()
    return job


def stock_rows(count: int, start: int = 0, partner: str = "ACME") -> list[list[Any]]:
    """Return ``count`` valid stock record rows."""
    return [
        [partner, f"P-{1 + i % 3}", f"SKU-{i:06d}", f"{i % 100}.50", 10 + i % 5, i % 3]
        for i in range(start, start + count)
    ]


def store_stock_rows(rows: Sequence[Sequence[Any]]) -> None:
    """Store ``rows`` (cells as ``stock_rows`` gives them) as stock records, as an import of
    them would have."""
    from decimal import Decimal

    from example_project.demo.models import Partner, Product, StockRecord

    partners = {p.name: p for p in Partner.objects.all()}
    products = {p.sku: p for p in Product.objects.all()}
    StockRecord.objects.bulk_create(
        StockRecord(
            partner=partners[row[0]],
            product=products[row[1]],
            partner_sku=row[2],
            price=Decimal(row[3]),
            num_in_stock=row[4],
            num_allocated=row[5],
        )
        for row in rows
    )
