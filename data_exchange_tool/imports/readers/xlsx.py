"""
XLSX reader: openpyxl in read-only mode on the first sheet.

An XLSX file is a zip archive that needs random access, so the task spools the stored object to a
temporary file of its own first (never kept between preview and import). The archive is checked
before openpyxl opens it: a corrupt archive, or one whose members would inflate past the limits
(a zip bomb), is refused with a clear message. Cells become the text a person sees: whole numbers
without ``.0``, dates as ISO dates, zero-padded number formats kept.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.base import BaseReader

MIDNIGHT = datetime.time(0, 0)


def number_text(value: float) -> str:
    """Return a float as a person reads it: ``5.0`` -> ``"5"``, ``1e-05`` -> ``"0.00001"``.

    Excel shows 15 significant digits, so ``0.1 + 0.2`` reads ``"0.3"`` as it does there.
    """
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(format(value, ".15g")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def cell_text(value: Any, number_format: str = "General") -> str:
    """Return the text a person sees in a cell holding ``value``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        text = str(value) if isinstance(value, int) else number_text(value)
        if number_format.strip("0") == "" and len(number_format) > len(text):
            return text.zfill(len(number_format))
        return text
    if isinstance(value, datetime.datetime):
        if value.time() == MIDNIGHT:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def check_archive(path: str) -> None:
    """Refuse files that are not XLSX archives or that would inflate past the limits."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileFormatError("The file is not a valid XLSX workbook (it may be corrupt).") from exc
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        raise FileFormatError("The file is not an XLSX workbook (no xl/workbook.xml inside).")
    total = sum(member.file_size for member in members)
    if total > app_settings.MAX_XLSX_UNCOMPRESSED_SIZE:
        raise FileFormatError("The workbook is too large once uncompressed.")
    ratio_limit = app_settings.MAX_XLSX_COMPRESSION_RATIO
    for member in members:
        if member.file_size > 1024 * 1024 and member.file_size > ratio_limit * max(
            member.compress_size, 1
        ):
            raise FileFormatError(
                "The workbook is compressed suspiciously well (a zip bomb?) and was refused."
            )


class XLSXReader(BaseReader):
    """Read the first sheet of an XLSX workbook as a stream of rows."""

    extensions = (".xlsx", ".xlsm")
    format_name = "XLSX"

    def open(self) -> None:
        import openpyxl

        self._spool = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - closed in close()
        shutil.copyfileobj(self.stream, self._spool, 1024 * 1024)
        self._spool.flush()
        if self._spool.tell() == 0:
            raise FileFormatError("The file is empty.")
        check_archive(self._spool.name)
        try:
            self.workbook = openpyxl.load_workbook(self._spool.name, read_only=True, data_only=True)
            sheet = self.workbook.worksheets[0]
        except Exception as exc:  # openpyxl raises many types for damaged parts
            raise FileFormatError("The XLSX workbook cannot be read (it may be corrupt).") from exc
        self._max_row = sheet.max_row or 0
        self._rows = sheet.iter_rows()
        try:
            header_cells = next(self._rows)
        except StopIteration:
            raise FileFormatError("The file is empty.") from None
        self.headers = self.check_headers([self._text(cell, 1) for cell in header_cells])

    def _text(self, cell: Any, row_number: int) -> str:
        value = getattr(cell, "value", None)
        text = cell_text(value, getattr(cell, "number_format", None) or "General")
        if len(text) > self.max_cell_length:
            raise self.too_long(row_number)
        return text

    def iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        row_number = 1
        limit = self.max_cell_length
        for cells in self._rows:
            row_number += 1
            texts = []
            for cell in cells:
                # Text and empty cells need no number format: the quick path for most cells.
                value = cell.value
                if value is None:
                    texts.append("")
                elif type(value) is str and len(value) <= limit:
                    texts.append(value)
                else:
                    texts.append(self._text(cell, row_number))
            if any(map(str.strip, texts)):
                yield row_number, texts

    def estimate_total_rows(self, rows_done: int, file_size: int | None) -> int:
        return max(rows_done, self._max_row - 1)

    def close(self) -> None:
        workbook = getattr(self, "workbook", None)
        if workbook is not None:
            workbook.close()
        spool = getattr(self, "_spool", None)
        if spool is not None:
            spool.close()
        super().close()
