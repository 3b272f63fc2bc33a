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
import itertools
import os
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from data_exchange_tool.utils import batched

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


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
XLSX_PARTS = {
    "[Content_Types].xml": f'<Types xmlns="{_PACKAGE}/content-types"><Default Extension="rels" '
    f'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
    f'Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
    f'ContentType="{_TYPE}.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
    f'ContentType="{_TYPE}.worksheet+xml"/><Override PartName="/xl/styles.xml" '
    f'ContentType="{_TYPE}.styles+xml"/><Override PartName="/xl/sharedStrings.xml" '
    f'ContentType="{_TYPE}.sharedStrings+xml"/></Types>',
    "_rels/.rels": f'<Relationships xmlns="{_PACKAGE}/relationships"><Relationship Id="rId1" '
    f'Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><workbookPr/><sheets>'
    '<sheet name="stock" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PACKAGE}/relationships">'
    f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_RELS}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>",
    "xl/styles.xml": f'<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/>'
    '<name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill '
    'patternType="none"/></fill></fills><borders count="1"><border/></borders><cellXfs '
    'count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/><xf numFmtId="2" '
    'fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/></cellXfs></styleSheet>',
}


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xlsx_cell(ref: str, value: Any, strings: dict[str, int]) -> str:
    if isinstance(value, float):
        return f'<c r="{ref}" s="1"><v>{value!r}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="s"><v>{strings.setdefault(value, len(strings))}</v></c>'


def write_xlsx(path: Path, count: int) -> None:
    """Write ``count`` rows as the first sheet of an XLSX workbook laid out as Excel writes it.

    Texts go to the shared strings table (numbered by first appearance), prices are numbers
    shown with the ``0.00`` format (as the CSV writes them), integers are General numbers; every
    row and cell has its ``r`` reference.
    """
    strings: dict[str, int] = {}
    letters = "ABCDEF"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, text in XLSX_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                f'<worksheet xmlns="{_MAIN}"><dimension ref="A1:F{count + 1}"/><sheetData>'.encode()
            )
            rows = itertools.chain([HEADERS], stock_rows(count))
            for number, chunk in enumerate(batched(rows, 1000)):
                sheet.write(
                    "".join(
                        f'<row r="{number * 1000 + i + 1}">'
                        + "".join(
                            _xlsx_cell(f"{letters[col]}{number * 1000 + i + 1}", value, strings)
                            for col, value in enumerate(row)
                        )
                        + "</row>"
                        for i, row in enumerate(chunk)
                    ).encode()
                )
            sheet.write(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
            table.write(f'<sst xmlns="{_MAIN}" uniqueCount="{len(strings)}">'.encode())
            for chunk in batched(strings, 10_000):
                table.write("".join(f"<si><t>{_xml_escape(s)}</t></si>" for s in chunk).encode())
            table.write(b"</sst>")


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
