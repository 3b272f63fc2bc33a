"""
XLSX reader: the first worksheet's XML read as a stream as it is inflated, with number formats.

The stored workbook is spooled to a temporary file of its own (a zip archive needs random access)
and checked against zip bombs (``archives``); the parts before the sheet (relationships, styles,
shared strings) are read by ``ooxml``. The sheet itself is read in chunks, so memory stays flat
whatever its length:

- **the quick path**: the rows Excel, LibreOffice, openpyxl and xlsxwriter write look alike
  (``<row r="2"><c r="A2" s="1" t="s"><v>7</v></c>...</row>``): each row is matched by one
  regular expression, which costs a fraction of an XML parser's calls per cell;
- **expat** for every row the quick path does not match exactly (a formula, rich text, a cell
  without its reference, pretty-printed XML: the number of cells matched must equal the number of
  ``<c`` in the row), and for a whole sheet written with a namespace prefix (``<x:c>``).

Both give the same text: the shared or inline string (``_xHHHH_`` escapes decoded, phonetic runs
left out), ``TRUE``/``FALSE``, the error text (``#DIV/0!``), a formula's cached value (blank when
none), and numbers as a person sees them through their style's number format (``cellformat``).
"""

from __future__ import annotations

import codecs
import datetime
import html
import logging
import marshal
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.archives import check_archive, spool
from data_exchange_tool.imports.readers.base import BaseReader
from data_exchange_tool.imports.readers.cellformat import (
    Formatter,
    general_text,
    moment_text,
)
from data_exchange_tool.imports.readers.ooxml import (
    CHUNK,
    SharedStrings,
    corrupt,
    find_parts,
    load_shared_strings,
    make_parser,
    style_formatters,
    unescape,
)

logger = logging.getLogger(__name__)

Row = tuple[int, list[str]]

#: Characters of sheet XML decoded and matched at a time by the quick path.
TEXT_CHUNK = 256 * 1024
_ROW = re.compile(r'<row r="([0-9]+)"')
_CELL = re.compile(
    r'<c r="([A-Z]{1,3})[0-9]+"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?'
    r'(?: ?/>|>(?:<v>([^<]*)</v>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>|)</c>)'
)
_PREFIX = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet[\s>]")
_DIMENSION = re.compile(r'<dimension ref="[A-Z]+[0-9]+:[A-Z]+([0-9]+)"')


def column_letters(count: int = 16_384) -> list[str]:
    """Return the letters of the first ``count`` columns: ``A`` ... ``XFD``."""
    letters = []
    for index in range(count):
        name, number = "", index + 1
        while number:
            number, rest = divmod(number - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


LETTERS = column_letters()
COLUMN_INDEX = {name: index for index, name in enumerate(LETTERS)}


def iso_date_text(raw: str) -> str:
    """Return the text of a ``t="d"`` cell (an ISO 8601 date-time)."""
    try:
        moment = datetime.datetime.fromisoformat(raw.rstrip("Z"))
    except ValueError:
        return raw
    return moment_text(moment.replace(tzinfo=None), "datetime" if "T" in raw else "date")


def xml_chars(raw: str) -> str:
    """Return raw XML character data as a parser gives it: line ends normalised, entities."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    return html.unescape(raw) if "&" in raw else raw


class CellTexts:
    """Turn a cell's type, style and value into its text (shared by both paths)."""

    def __init__(self, string_at: Callable[[int], str], formats: dict[str, Formatter]) -> None:
        self.string_at = string_at
        self.formats = formats

    def text(self, kind: str | None, style: str | None, value: str) -> str:
        """Return the text of a cell whose ``<v>`` (or inline text) is ``value``."""
        if not value:
            return ""
        if kind is None or kind == "n" or kind == "":
            formatter = self.formats.get(style) if style else None
            return formatter(value) if formatter is not None else general_text(value)
        if kind == "s":
            try:
                return self.string_at(int(value))
            except (IndexError, ValueError):
                detail = f"a cell names shared string {value[:20]!r}, which is not there"
                raise corrupt(detail) from None
        if kind == "inlineStr" or kind == "str":
            return unescape(value)
        if kind == "b":
            return "FALSE" if value.strip() in ("0", "false") else "TRUE"
        if kind == "d":
            return iso_date_text(value)
        return value  # "e" (an error such as #DIV/0!) and anything unknown: the text as written


def expat_rows(  # noqa: C901 - one closure per expat event, kept together for speed
    chunks: Iterable[bytes | str], texts: CellTexts, prefix: str = "", previous: int = 0
) -> Iterator[Row]:
    """Yield the rows of sheet XML (a whole sheet, or a fragment of rows) parsed with expat.

    :param prefix: the namespace prefix of the sheet's tags (``"x:"``), or "".
    :param previous: the number of the row before the first one (rows without ``r`` count on).
    """
    cell_tag, value_tag, row_tag, text_tag, phonetic_tag = (
        prefix + name for name in ("c", "v", "row", "t", "rPh")
    )
    rows: list[Row] = []
    state: dict[str, Any] = {"row": previous, "col": 0, "cells": [], "phonetic": False}
    parts: list[str] = []
    collecting = [False]

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == cell_tag:
            ref = attrs.get("r")
            if ref is not None:
                index = COLUMN_INDEX.get(ref.rstrip("0123456789"))
                if index is None:
                    raise corrupt(f"a cell has the reference {ref[:20]!r}")
                state["col"] = index
            state["kind"], state["style"] = attrs.get("t"), attrs.get("s")
            parts.clear()
        elif name == value_tag:
            collecting[0] = True
        elif name == text_tag:
            collecting[0] = not state["phonetic"]
        elif name == row_tag:
            ref = attrs.get("r")
            state["row"] = int(ref) if ref and ref.isdigit() else state["row"] + 1
            state["cells"], state["col"] = [], 0
        elif name == phonetic_tag:
            state["phonetic"] = True

    def end(name: str) -> None:
        if name == cell_tag:
            text = texts.text(state["kind"], state["style"], "".join(parts))
            cells, col = state["cells"], state["col"]
            if text:
                if col >= len(cells):
                    cells.extend([""] * (col - len(cells) + 1))
                cells[col] = text
            state["col"] = col + 1
        elif name in (value_tag, text_tag):
            collecting[0] = False
        elif name == row_tag:
            rows.append((state["row"], state["cells"]))
        elif name == phonetic_tag:
            state["phonetic"] = False

    def chars(data: str) -> None:
        if collecting[0]:
            parts.append(data)

    parser = make_parser(start, end, chars)
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
            if rows:
                yield from rows
                rows.clear()
        parser.Parse(b"", True)
    except Exception as exc:  # expat's errors, and a handler's int() of a damaged number
        if isinstance(exc, FileFormatError):
            raise
        raise corrupt(f"damaged XML in the sheet ({exc})") from exc
    yield from rows


class SheetReader:
    """Read the rows of one worksheet part: the quick path, with expat where it does not fit."""

    def __init__(self, stream: Any, texts: CellTexts, size: int) -> None:
        self.stream = stream
        self.texts = texts
        #: The sheet's uncompressed size and the bytes read so far, for progress.
        self.size = size
        self.bytes_read = 0
        #: The last row number of the sheet (its ``<dimension>``), or 0 when not given.
        self.last_row = 0

    def read(self, size: int = CHUNK) -> bytes:
        """Read inflated bytes of the sheet, counting them."""
        try:
            data = self.stream.read(size)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise corrupt("its sheet cannot be inflated") from exc
        self.bytes_read += len(data)
        return data

    def rows(self) -> Iterator[Row]:
        """Yield ``(row_number, cells)`` for every ``<row>`` of the sheet, in order."""
        head = self.read(CHUNK)
        match = _PREFIX.search(head)
        prefix = match.group(1).decode() + ":" if match and match.group(1) else ""
        if prefix or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            yield from expat_rows(self._chunks(head), self.texts, prefix)
        else:
            yield from self._quick_rows(head)

    def _chunks(self, head: bytes) -> Iterator[bytes]:
        chunk = head
        while chunk:
            yield chunk
            chunk = self.read(CHUNK)

    def _quick_rows(self, head: bytes) -> Iterator[Row]:
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            text = decoder.decode(head)
            while "<sheetData" not in text and len(text) < 16 * 1024 * 1024:
                data = self.read(TEXT_CHUNK)
                if not data:
                    return
                text += decoder.decode(data)
            dimension = _DIMENSION.search(text)
            self.last_row = int(dimension.group(1)) if dimension else 0
            text = text[text.find("<sheetData") :]
            previous = 0
            while True:
                parts = text.split("</row>")
                text = parts.pop()
                for number, cells in self._parse(parts, previous):
                    previous = number
                    yield number, cells
                data = self.read(TEXT_CHUNK)
                if not data:
                    break
                text += decoder.decode(data)
        except UnicodeDecodeError as exc:
            raise corrupt("its sheet is not UTF-8 text") from exc

    def _parse(self, parts: list[str], previous: int) -> Iterator[Row]:
        """Yield the rows of ``parts`` (one row each, its ``</row>`` cut off).

        The quick path matches a row's cells with one regular expression; it holds when the row
        starts with its number and every ``<c`` of the row was matched (nothing was skipped).
        The rows that do not fit are parsed with expat.
        """
        findall, match_row = _CELL.findall, _ROW.match
        slow: list[str] = []
        for part in parts:
            row = part[part.rfind("<row") :]
            numbered = match_row(row)
            found = findall(row)
            if numbered is None or len(found) != row.count("<c"):
                slow.append(row + "</row>")
                continue
            if slow:
                yield from self._slow(slow, previous)
                slow = []
            previous = int(numbered.group(1))
            yield previous, self._cells(found)
        if slow:
            yield from self._slow(slow, previous)

    def _cells(self, found: list[tuple[str, str, str, str, str]]) -> list[str]:
        """Return the texts of a row's matched cells, at their columns."""
        string_at, formats, text_of = self.texts.string_at, self.texts.formats, self.texts.text
        cells: list[str] = []
        append = cells.append
        for _letters, style, kind, value, inline in found:
            if kind == "s":
                try:
                    append(string_at(int(value)))
                except (IndexError, ValueError):
                    append(text_of(kind, style, value))
            elif not kind or kind == "n":
                if not value:
                    append("")
                elif style and style in formats:
                    append(formats[style](value))
                elif value.isdigit() and (value[0] != "0" or len(value) == 1):
                    append(value)
                else:
                    append(general_text(value))
            elif kind == "inlineStr":
                plain = "&" not in inline and "\r" not in inline and "_x" not in inline
                append(inline if plain else unescape(xml_chars(inline)))
            else:
                append(text_of(kind, style, xml_chars(value)))
        last = len(found) - 1
        if found and (found[0][0] != "A" or last >= len(LETTERS) or found[-1][0] != LETTERS[last]):
            return self._placed(found, cells)
        return cells

    @staticmethod
    def _placed(found: Sequence[tuple[str, ...]], texts: list[str]) -> list[str]:
        """Return a row's texts at their columns (a row with gaps, or out of order)."""
        cells: list[str] = []
        for (letters, *_rest), text in zip(found, texts, strict=True):
            index = COLUMN_INDEX.get(letters)
            if index is None:
                raise corrupt(f"a cell is in column {letters}, past the last one (XFD)")
            if index >= len(cells):
                cells.extend([""] * (index - len(cells) + 1))
            cells[index] = text
        return cells

    def _slow(self, rows: list[str], previous: int) -> Iterator[Row]:
        fragment = "<rows>" + "".join(rows) + "</rows>"
        return expat_rows([fragment], self.texts, "", previous)

    def estimate_total_rows(self, rows_done: int) -> int:
        """Return the sheet's rows from its dimension, else from the bytes read so far."""
        if self.last_row:
            return max(rows_done, self.last_row - 1)
        if not self.bytes_read or not rows_done:
            return rows_done
        return max(rows_done, int(rows_done * self.size / self.bytes_read))


class LocalSheet:
    """The first worksheet read in this process."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        parts = find_parts(archive)
        formats = style_formatters(archive, parts)
        self.strings = SharedStrings()
        if parts.shared_strings:
            with archive.open(parts.shared_strings) as stream:
                self.strings = load_shared_strings(stream)
        texts = CellTexts(self.strings.getter(), formats)
        size = archive.getinfo(parts.sheet).file_size
        self.sheet = SheetReader(archive.open(parts.sheet), texts, size)

    def rows(self) -> Iterator[Row]:
        """Yield every row of the sheet."""
        return self.sheet.rows()

    def estimate_total_rows(self, rows_done: int) -> int:
        """Return the rows the sheet is expected to hold."""
        return self.sheet.estimate_total_rows(rows_done)

    def close(self) -> None:
        """Close the sheet's stream and drop the spilled strings."""
        self.sheet.stream.close()
        self.strings.close()


class ChildSheet:
    """The first worksheet read by a child process while this one validates (``sheetproc``).

    On two cores the preview then runs at the pace of the slower of reading and validating,
    instead of their sum. The child is a fresh interpreter (``sys.executable -m
    data_exchange_tool.imports.readers.sheetproc PATH``: no fork of a process with threads and
    connections); it sends batches of rows through a pipe with ``marshal``. When it cannot
    start, the sheet is read in this process instead.
    """

    def __init__(self, path: str, archive: zipfile.ZipFile) -> None:
        self.path = path
        self.archive = archive
        self.process: subprocess.Popen[bytes] | None = None
        self.local: LocalSheet | None = None
        self.bytes_read = 0
        self.size = 0
        self.last_row = 0

    @staticmethod
    def available() -> bool:
        """Return True when ``sys.executable`` is a Python interpreter (not uWSGI's binary)."""
        name = os.path.basename(sys.executable or "").lower()
        return name.startswith(("python", "pypy"))

    def start(self) -> subprocess.Popen[bytes]:
        """Start the child process."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
        command = [sys.executable, "-m", "data_exchange_tool.imports.readers.sheetproc", self.path]
        return subprocess.Popen(  # noqa: S603 - our own module, on our own spooled file
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env
        )

    def rows(self) -> Iterator[Row]:
        """Yield the rows the child sends; fall back to this process if it never answers."""
        try:
            self.process = self.start()
        except OSError:
            logger.warning("data_exchange_tool: cannot start the sheet reader", exc_info=True)
            yield from self._local_rows()
            return
        received = False
        stream = self.process.stdout
        assert stream is not None  # noqa: S101 - Popen(stdout=PIPE) gives one
        while True:
            try:
                kind, facts, payload = self.receive(stream)
            except (EOFError, ValueError, TypeError):
                if not received:
                    logger.warning("data_exchange_tool: the sheet reader did not start")
                    yield from self._local_rows()
                    return
                raise corrupt("its sheet reader stopped") from None
            received = True
            if kind == "error":
                raise FileFormatError(payload)
            self.bytes_read, self.size, self.last_row = facts
            if kind == "end":
                return
            yield from payload

    @staticmethod
    def receive(stream: IO[bytes]) -> tuple[str, tuple[int, int, int], Any]:
        """Read one message of the child (see ``sheetproc.send``); raise ``EOFError`` at the end."""
        header = stream.read(8)
        size = int.from_bytes(header, "little") if len(header) == 8 else -1
        data = stream.read(size) if size >= 0 else b""
        if len(data) != size:
            raise EOFError
        return marshal.loads(data)  # noqa: S302 - our child

    def _local_rows(self) -> Iterator[Row]:
        self.local = LocalSheet(self.archive)
        return self.local.rows()

    def estimate_total_rows(self, rows_done: int) -> int:
        """Return the rows the sheet is expected to hold, from what the child reported."""
        if self.local is not None:
            return self.local.estimate_total_rows(rows_done)
        if self.last_row:
            return max(rows_done, self.last_row - 1)
        if not self.bytes_read or not rows_done:
            return rows_done
        return max(rows_done, int(rows_done * self.size / self.bytes_read))

    def close(self) -> None:
        """Stop the child (it may still be reading ahead) and release the pipe."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
        if self.local is not None:
            self.local.close()


class XLSXReader(BaseReader):
    """Read the first worksheet of an XLSX workbook as a stream of rows.

    A sheet of at least ``DATA_EXCHANGE_XLSX_PROCESS_THRESHOLD`` bytes of XML is read by a child
    process (``ChildSheet``), a smaller one in this process (``LocalSheet``).
    """

    extensions = (".xlsx", ".xlsm")
    format_name = "XLSX"

    def open(self) -> None:
        self._spool = spool(self.stream, ".xlsx")
        self.archive = check_archive(self._spool.name, "XLSX", "xl/workbook.xml")
        self._source: LocalSheet | ChildSheet
        threshold = app_settings.XLSX_PROCESS_THRESHOLD
        size = self.archive.getinfo(find_parts(self.archive).sheet).file_size
        if threshold is not None and size >= threshold and ChildSheet.available():
            self._source = ChildSheet(self._spool.name, self.archive)
        else:
            self._source = LocalSheet(self.archive)
        self._rows = self._source.rows()
        first = next(self._rows, None)
        if first is None:
            raise FileFormatError("The file is empty.")
        number, cells = first
        self.headers = self.check_headers(self.checked(cells, 1) if number == 1 else [])

    def checked(self, cells: list[str], row_number: int) -> list[str]:
        """Return ``cells``, or raise when one is longer than the limit."""
        if cells and max(map(len, cells)) > self.max_cell_length:
            raise self.too_long(row_number)
        return cells

    def iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        limit, width = self.max_cell_length, len(self.headers)
        for row_number, cells in self._rows:
            if any(map(str.strip, cells)):
                if max(map(len, cells)) > limit:
                    raise self.too_long(row_number)
                if len(cells) < width:  # empty cells at the end are not written
                    cells.extend([""] * (width - len(cells)))
                yield row_number, cells

    def estimate_total_rows(self, rows_done: int, file_size: int | None) -> int:
        return self._source.estimate_total_rows(rows_done)

    def close(self) -> None:
        for name in ("_source", "archive", "_spool"):
            part = getattr(self, name, None)
            if part is not None:
                part.close()
        super().close()
