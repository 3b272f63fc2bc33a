"""
ODS reader (LibreOffice, OpenOffice): the first table of ``content.xml``, parsed as it is inflated.

An OpenDocument cell carries both its value (``office:value``, ``office:date-value``...) and the
text it shows (``<text:p>``), so no number format needs interpreting:

- strings: the shown text (paragraphs joined by line breaks, ``<text:s>`` spaces and tabs kept,
  annotations left out);
- numbers and currency: the shown text when it is a plain number (``00042``, ``1.50``); else the
  value with as many decimals as shown, without grouping separators and currency symbols
  (``1.234,50 €`` is ``1234.50``); scientific notation gives the value (``1.23E+05`` is
  ``123456``), as percentages do (``12.50%`` is ``0.125``), as in XLSX;
- dates: ISO dates, or date-times when the shown text has a time (a midnight date-time is a date);
  times and durations: ``hh:mm:ss`` (``26:00:00``); booleans: ``TRUE``/``FALSE``.

Memory stays flat: the XML is fed to expat in chunks and rows are handed out as they end.
Repeated rows and cells (``number-rows-repeated``, ``number-columns-repeated``, which LibreOffice
uses for the empty rest of a sheet) are expanded only when they hold something.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from decimal import InvalidOperation
from typing import Any
from xml.parsers import expat

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.archives import check_archive, spool
from data_exchange_tool.imports.readers.base import BaseReader
from data_exchange_tool.imports.readers.cellformat import (
    fixed_text,
    general_text,
    moment_text,
)

TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0 "
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0 "
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0 "
CHUNK = 64 * 1024
#: Most columns and rows a repeated cell or row is expanded to (Excel's and Calc's limits).
MAX_COLUMNS = 16_384
MAX_ROWS = 1_048_576
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DURATION = re.compile(
    r"(-)?P(?:([0-9]+)D)?T?(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?"
)
_SHOWS_TIME = re.compile(r"[0-9]\s*[:時hH]\s*[0-9]")


def number_text(value: str, shown: str) -> str:
    """Return a float or currency cell's text: the shown number, or the value as shown."""
    shown = shown.strip()
    if _PLAIN_NUMBER.fullmatch(shown):
        return shown
    if "E" in shown.upper() or not value:
        return general_text(value) if value else shown
    digits = "".join(char for char in shown if char.isdigit()).lstrip("0")
    separators = [index for index, char in enumerate(shown) if char in ".,"]
    decimals = 0
    if separators:
        decimals = sum(char.isdigit() for char in shown[separators[-1] + 1 :])
    for places in dict.fromkeys((decimals, 0)):
        try:
            text = fixed_text(value, places, 1, 0)
        except (InvalidOperation, ValueError):
            break
        if text.lstrip("-").replace(".", "").lstrip("0") == digits:
            return text
    return general_text(value)


def date_text(value: str, shown: str) -> str:
    """Return a date cell's text: an ISO date, or a date-time when the shown text has a time."""
    try:
        moment = datetime.datetime.fromisoformat(value.rstrip("Z"))
    except ValueError:
        return value
    kind = "datetime" if "T" in value and _SHOWS_TIME.search(shown) else "date"
    return moment_text(moment.replace(tzinfo=None), kind)


def time_text(value: str) -> str:
    """Return a time or duration (``PT26H00M00S``) as ``hh:mm:ss``, hours past 24 kept."""
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        return value
    sign, days, hours, minutes, seconds = match.groups()
    total = float(seconds or 0) + 60 * (int(minutes or 0) + 60 * (int(hours or 0)))
    total += 86_400 * int(days or 0)
    whole = round(total)
    text = f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return f"-{text}" if sign else text


def cell_text(attrs: dict[str, str], shown: str) -> str:
    """Return the text of a cell from its attributes and the text it shows."""
    kind = attrs.get(OFFICE + "value-type", "")
    if kind in ("float", "currency"):
        return number_text(attrs.get(OFFICE + "value", ""), shown)
    if kind == "percentage":
        value = attrs.get(OFFICE + "value", "")
        return general_text(value) if value else shown
    if kind == "date":
        return date_text(attrs.get(OFFICE + "date-value", ""), shown)
    if kind == "time":
        return time_text(attrs.get(OFFICE + "time-value", ""))
    if kind == "boolean":
        return "TRUE" if attrs.get(OFFICE + "boolean-value", "") in ("true", "1") else "FALSE"
    return shown


class TableParser:
    """The expat handlers that turn the first table of ``content.xml`` into rows."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, list[str]]] = []
        self.row_number = 0
        self.cells: list[str] = []
        self.empty_before = 0
        self.row_repeat = 1
        self.cell_attrs: dict[str, str] | None = None
        self.cell_repeat = 1
        self.paragraphs: list[list[str]] = []
        self.depth_ignored = 0
        self.tables = 0
        self.done = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """Handle an element's start."""
        if self.done:
            return
        if name == TABLE + "table":
            self.tables += 1
        elif self.tables != 1:
            return
        elif name == TABLE + "table-row":
            self.cells, self.empty_before = [], 0
            self.row_repeat = _count(attrs.get(TABLE + "number-rows-repeated"))
        elif name in (TABLE + "table-cell", TABLE + "covered-table-cell"):
            self.cell_attrs, self.paragraphs = attrs, []
            self.cell_repeat = _count(attrs.get(TABLE + "number-columns-repeated"))
        elif self.cell_attrs is not None:
            self._start_in_cell(name, attrs)

    def _start_in_cell(self, name: str, attrs: dict[str, str]) -> None:
        if name == OFFICE + "annotation" or self.depth_ignored:
            self.depth_ignored += 1
        elif name == TEXT + "p" or name == TEXT + "h":
            self.paragraphs.append([])
        elif self.paragraphs and name == TEXT + "s":
            self.paragraphs[-1].append(" " * _count(attrs.get(TEXT + "c")))
        elif self.paragraphs and name == TEXT + "tab":
            self.paragraphs[-1].append("\t")
        elif self.paragraphs and name == TEXT + "line-break":
            self.paragraphs[-1].append("\n")

    def end(self, name: str) -> None:
        """Handle an element's end."""
        if self.done or self.tables != 1:
            return
        if self.depth_ignored:
            self.depth_ignored -= 1
        elif name in (TABLE + "table-cell", TABLE + "covered-table-cell"):
            self._end_cell()
        elif name == TABLE + "table-row":
            self._end_row()
        elif name == TABLE + "table":
            self.done = True

    def _end_cell(self) -> None:
        shown = "\n".join("".join(parts) for parts in self.paragraphs)
        text = cell_text(self.cell_attrs or {}, shown)
        self.cell_attrs = None
        if not text:
            self.empty_before += self.cell_repeat
            return
        room = MAX_COLUMNS - len(self.cells) - self.empty_before
        if room <= 0:
            return
        self.cells.extend([""] * self.empty_before)
        self.cells.extend([text] * min(self.cell_repeat, room))
        self.empty_before = 0

    def _end_row(self) -> None:
        repeat = min(self.row_repeat, MAX_ROWS - self.row_number)
        if self.cells:
            for _ in range(repeat):
                self.row_number += 1
                self.rows.append((self.row_number, list(self.cells)))
        else:
            self.row_number += repeat

    def chars(self, data: str) -> None:
        """Collect the text of the current paragraph."""
        if self.paragraphs and not self.depth_ignored and self.cell_attrs is not None:
            self.paragraphs[-1].append(data)


def _count(text: str | None) -> int:
    try:
        return max(1, int(text or 1))
    except ValueError:
        return 1


def _refuse_doctype(*args: object) -> None:
    raise FileFormatError("The ODS workbook cannot be read: its XML declares a DTD.")


def table_rows(stream: Any) -> Iterator[tuple[int, list[str]]]:
    """Yield the rows of the first table of a ``content.xml`` stream."""
    table = TableParser()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    parser.StartElementHandler = table.start
    parser.EndElementHandler = table.end
    parser.CharacterDataHandler = table.chars
    try:
        while not table.done:
            chunk = stream.read(CHUNK)
            parser.Parse(chunk, not chunk)
            yield from table.rows
            table.rows.clear()
            if not chunk:
                break
    except expat.ExpatError as exc:
        raise FileFormatError(
            f"The ODS workbook cannot be read (it may be corrupt): damaged XML ({exc})."
        ) from exc


class ODSReader(BaseReader):
    """Read the first table of an OpenDocument spreadsheet as a stream of rows."""

    extensions = (".ods",)
    format_name = "ODS"

    def open(self) -> None:
        self._spool = spool(self.stream, ".ods")
        self.archive = check_archive(self._spool.name, "ODS", "content.xml")
        name = next(n for n in self.archive.namelist() if n.lower() == "content.xml")
        self._size = self.archive.getinfo(name).file_size
        self._content = self.archive.open(name)
        self._rows = table_rows(self._content)
        first = next(self._rows, None)
        if first is None:
            raise FileFormatError("The file is empty.")
        number, cells = first
        self.headers = self.check_headers(cells if number == 1 else [])
        self._check_length(cells, 1)

    def _check_length(self, cells: list[str], row_number: int) -> None:
        if cells and max(map(len, cells)) > self.max_cell_length:
            raise self.too_long(row_number)

    def iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.headers)
        for row_number, cells in self._rows:
            if any(map(str.strip, cells)):
                self._check_length(cells, row_number)
                if len(cells) < width:  # empty cells at the end are not expanded
                    cells.extend([""] * (width - len(cells)))
                yield row_number, cells

    def estimate_total_rows(self, rows_done: int, file_size: int | None) -> int:
        read = self._content.tell() if hasattr(self._content, "tell") else 0
        if not read or not rows_done:
            return rows_done
        return max(rows_done, int(rows_done * self._size / read))

    def close(self) -> None:
        for name in ("_content", "archive", "_spool"):
            part = getattr(self, name, None)
            if part is not None:
                part.close()
        super().close()
