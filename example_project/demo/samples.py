"""Sample files of the demo: stock records with a few invalid rows, as CSV and XLSX."""

from __future__ import annotations

import csv
from pathlib import Path

HEADERS = ["Partner", "Product", "Partner SKU", "Price", "Num in stock", "Num allocated"]
PARTNERS = ["ACME", "Globex", "Initech", "Umbrella"]
PRODUCT_COUNT = 50


def sample_rows(count: int) -> list[list[str]]:
    """Return ``count`` stock record rows; rows 7, 11 and 15 of the file are invalid."""
    rows = []
    for i in range(count):
        rows.append(
            [
                PARTNERS[i % len(PARTNERS)],
                f"PRD-{i % PRODUCT_COUNT:04d}",
                f"{PARTNERS[i % len(PARTNERS)][:3].upper()}-{i:06d}",
                f"{(i % 97) + 0.5:.2f}",
                str(10 + i % 40),
                str(i % 7),
            ]
        )
    if count > 15:
        rows[5][0] = "Unknown Partner Ltd"  # file row 7: no such partner
        rows[9][3] = "twelve"  # file row 11: not a price
        rows[13][5] = "999"  # file row 15: more allocated than in stock
    return rows


def write_samples(folder: Path, count: int = 5000) -> list[Path]:
    """Write the sample CSV and XLSX files into ``folder``; return their paths."""
    from data_exchange_tool.writers import stream_table

    folder.mkdir(parents=True, exist_ok=True)
    rows = sample_rows(count)
    csv_path = folder / "stock_records.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    xlsx_path = folder / "stock_records.xlsx"
    with xlsx_path.open("wb") as handle:
        for data in stream_table([HEADERS, *rows[:500]], "xlsx", neutralize=False):
            handle.write(data)
    return [csv_path, xlsx_path]
