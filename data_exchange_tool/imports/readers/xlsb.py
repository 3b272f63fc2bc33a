"""
XLSB reader (Excel binary workbooks): the first sheet through python-calamine, values only.

calamine reads the values but gives no number formats: a code shown ``00042`` reads ``42``, a price
shown ``1.50`` reads ``1.5``; dates and date-times are known (ISO), as are booleans. It loads the
sheet whole (about 0.6 KB a row), bounded by ``DATA_EXCHANGE_MAX_FILE_SIZE``. Save the workbook as
XLSX to keep the formats.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.archives import check_archive, spool
from data_exchange_tool.imports.readers.base import BaseReader
from data_exchange_tool.imports.readers.cellformat import cell_text


class XLSBReader(BaseReader):
    """Read the first sheet of an Excel binary workbook (values, no number formats)."""

    extensions = (".xlsb",)
    format_name = "XLSB"

    def open(self) -> None:
        from python_calamine import CalamineWorkbook

        self._spool = spool(self.stream, ".xlsb")
        check_archive(self._spool.name, "XLSB", "xl/workbook.bin").close()
        try:
            self.book = CalamineWorkbook.from_path(self._spool.name)
            sheet = self.book.get_sheet_by_index(0)
            self._start = (sheet.start or (0, 0))[0]
            self._total = sheet.height
            self._rows = iter(sheet.iter_rows())
            first = next(self._rows, None)
        except Exception as exc:  # calamine raises its own error types for damaged parts
            raise FileFormatError("The XLSB workbook cannot be read (it may be corrupt).") from exc
        if first is None:
            raise FileFormatError("The file is empty.")
        self.headers = self.check_headers(self.texts(first, 1) if self._start == 0 else [])

    def texts(self, values: Sequence[object], row_number: int) -> list[str]:
        """Return a row's values as texts, checking their length."""
        cells = [value if value.__class__ is str else cell_text(value) for value in values]
        if cells and max(map(len, cells)) > self.max_cell_length:
            raise self.too_long(row_number)
        return cells

    def iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        for offset, values in enumerate(self._rows, start=self._start + 2):
            cells = self.texts(values, offset)
            if any(map(str.strip, cells)):
                yield offset, cells

    def estimate_total_rows(self, rows_done: int, file_size: int | None) -> int:
        return max(rows_done, self._total - 1)

    def close(self) -> None:
        book = getattr(self, "book", None)
        if book is not None:
            book.close()
        spooled = getattr(self, "_spool", None)
        if spooled is not None:
            spooled.close()
        super().close()
