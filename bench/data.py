"""
The benchmark's files: stock records of the example project, as CSV and XLSX.

The many-to-many case reads the same rows with a ``tags`` column naming two of ``TAGS`` tags per
row (``tag-07;tag-31``), as ``stock_tags_<rows>.csv``.

Rows name their partner and product by natural key (partner name, product SKU), carry a decimal
price and two integers, and about 1% of them are invalid in one of four ways (unknown partner,
unknown product, a price that is not a number, more allocated than in stock). Files are generated
once per row count and kept in ``bench/data/`` (git-ignored); the same seed gives the same rows,
so the CSV and XLSX of one row count hold the same data.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
HEADERS = ["partner", "product", "partner_sku", "price", "num_in_stock", "num_allocated"]
PARTNERS = 100
PRODUCTS = 10_000
TAGS = 50
INVALID_SHARE = 0.01


def partner_names() -> list[str]:
    """Return the names of the catalogue's partners."""
    return [f"Partner {i:03d}" for i in range(PARTNERS)]


def product_skus() -> list[str]:
    """Return the SKUs of the catalogue's products."""
    return [f"PRD-{i:05d}" for i in range(PRODUCTS)]


def tag_names() -> list[str]:
    """Return the names of the catalogue's tags."""
    return [f"tag-{i:02d}" for i in range(TAGS)]


def _spoil(row: list[Any], rng: random.Random) -> None:
    kind = rng.randrange(4)
    if kind == 0:
        row[0] = "Unknown Partner"
    elif kind == 1:
        row[1] = "PRD-MISSING"
    elif kind == 2:
        row[3] = "twelve"
    else:
        row[5] = row[4] + 1


def stock_rows(count: int) -> Iterator[list[Any]]:
    """Yield ``count`` rows: partner, product, partner_sku, price (float), two ints."""
    rng = random.Random(count)
    partners, products = partner_names(), product_skus()
    for i in range(count):
        in_stock = rng.randrange(500)
        row: list[Any] = [
            partners[rng.randrange(PARTNERS)],
            products[rng.randrange(PRODUCTS)],
            f"PS-{i:08d}",
            rng.randrange(100, 100_000) / 100,
            in_stock,
            rng.randrange(in_stock + 1),
        ]
        if rng.random() < INVALID_SHARE:
            _spoil(row, rng)
        yield row


def tagged_rows(count: int) -> Iterator[list[Any]]:
    """Yield the rows of ``stock_rows(count)``, each with two distinct tags in a ``tags`` cell."""
    rng = random.Random(-count)
    tags = tag_names()
    for row in stock_rows(count):
        first, second = rng.sample(range(TAGS), 2)
        yield [*row, f"{tags[first]};{tags[second]}"]


def _csv_cell(value: Any) -> Any:
    return f"{value:.2f}" if isinstance(value, float) else value


def write_csv(path: Path, count: int, tagged: bool = False) -> None:
    """Write ``count`` rows as a UTF-8 CSV file (with a ``tags`` column when ``tagged``)."""
    rows = tagged_rows(count) if tagged else stock_rows(count)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([*HEADERS, "tags"] if tagged else HEADERS)
        writer.writerows([_csv_cell(v) for v in row] for row in rows)


def write_xlsx(path: Path, count: int) -> None:
    """Write ``count`` rows as the first sheet of an XLSX workbook (numbers as numbers)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("stock")
    sheet.append(HEADERS)
    for row in stock_rows(count):
        sheet.append(row)
    workbook.save(path)


def data_file(count: int, fmt: str, tagged: bool = False) -> Path:
    """Return the file of ``count`` rows in ``fmt`` (csv or xlsx), generating it when missing.

    ``tagged``: the CSV with a ``tags`` column (the many-to-many case).
    """
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"stock_{'tags_' if tagged else ''}{count}.{fmt}"
    if not path.exists():
        partial = path.with_suffix(f".partial.{fmt}")
        if tagged:
            write_csv(partial, count, tagged=True)
        else:
            (write_csv if fmt == "csv" else write_xlsx)(partial, count)
        os.replace(partial, path)
    return path
