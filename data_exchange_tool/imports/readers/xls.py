"""
XLS reader (Excel 97-2003): the first sheet through xlrd, with its number formats.

xlrd loads a sheet whole, which is bounded here: an XLS sheet has at most 65,536 rows and 256
columns (and the file at most ``DATA_EXCHANGE_MAX_FILE_SIZE`` bytes). With ``formatting_info``
each number cell's format is known, so cells read as a person sees them, as in XLSX
(``cellformat``): ``00042``, ``1.50``, ISO dates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.archives import spool
from data_exchange_tool.imports.readers.base import BaseReader
from data_exchange_tool.imports.readers.cellformat import formatter_for, general_text

# xlrd's cell types.
EMPTY, TEXT, NUMBER, DATE, BOOLEAN, ERROR, BLANK = range(7)


class XLSReader(BaseReader):
    """Read the first sheet of an Excel 97-2003 workbook."""

    extensions = (".xls",)
    format_name = "XLS"

    def open(self) -> None:
        import xlrd

        self._spool = spool(self.stream, ".xls")
        try:
            self.book = xlrd.open_workbook(
                self._spool.name, formatting_info=True, on_demand=True, logfile=_Silent()
            )
            self.sheet = self.book.sheet_by_index(0)
        except Exception as exc:  # xlrd raises XLRDError, struct.error, IndexError...
            raise FileFormatError(unreadable(exc)) from exc
        self._formats: dict[int, Any] = {}
        if self.sheet.nrows == 0:
            raise FileFormatError("The file is empty.")
        self.headers = self.check_headers(self.row_texts(0))

    def row_texts(self, index: int) -> list[str]:
        """Return the texts of the sheet's row ``index`` (0-based), checking their length."""
        cells = [self.text(cell) for cell in self.sheet.row(index)]
        if cells and max(map(len, cells)) > self.max_cell_length:
            raise self.too_long(index + 1)
        return cells

    def text(self, cell: Any) -> str:
        """Return the text a person sees in an xlrd cell."""
        kind = cell.ctype
        if kind == TEXT:
            return cell.value
        if kind in (NUMBER, DATE):
            formatter = self.formatter(cell.xf_index)
            raw = repr(float(cell.value))
            return formatter(raw) if formatter is not None else general_text(raw)
        if kind == BOOLEAN:
            return "TRUE" if cell.value else "FALSE"
        if kind == ERROR:
            import xlrd

            return xlrd.error_text_from_code.get(cell.value, "#ERROR!")
        return ""

    def formatter(self, xf_index: int | None) -> Any:
        """Return the formatter of a cell style (cached), or None for General."""
        if xf_index is None:
            return None
        if xf_index not in self._formats:
            try:
                key = self.book.xf_list[xf_index].format_key
                code = self.book.format_map[key].format_str
            except (IndexError, KeyError):
                code, key = "General", 0
            self._formats[xf_index] = formatter_for(code or "General", self.book.datemode == 1, key)
        return self._formats[xf_index]

    def iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        for index in range(1, self.sheet.nrows):
            cells = self.row_texts(index)
            if any(map(str.strip, cells)):
                yield index + 1, cells

    def estimate_total_rows(self, rows_done: int, file_size: int | None) -> int:
        return max(rows_done, self.sheet.nrows - 1)

    def close(self) -> None:
        book = getattr(self, "book", None)
        if book is not None:
            book.release_resources()
        spooled = getattr(self, "_spool", None)
        if spooled is not None:
            spooled.close()
        super().close()


class _Silent:
    """A log file that drops xlrd's warnings (it prints them to stdout by default)."""

    def write(self, text: str) -> None:
        """Drop the text."""


def unreadable(exc: Exception) -> str:
    """Return the message of an XLS file xlrd cannot read."""
    detail = str(exc).lower()
    if "xlsx" in detail:
        return "The file is an XLSX workbook saved under an .xls name: name it .xlsx."
    if "encrypt" in detail or "password" in detail:
        return "The XLS workbook is protected by a password: save it without one."
    return "The file is not a valid XLS workbook (it may be corrupt)."
