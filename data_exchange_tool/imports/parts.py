"""
Cutting a CSV file into parts that tasks of their own validate, without reading the whole file.

A job's file is cut when it is a CSV file on PostgreSQL, in an encoding whose bytes for a newline,
a quote and the delimiter never occur inside another character (``cuttable``: UTF-8, the single-
byte code pages; Shift_JIS, GBK, Big5 and the like when the delimiter is below 0x40, under their
trail bytes), and its estimated rows exceed the job type's ``get_part_rows()``. UTF-16 and UTF-32
files, and every other format, run in one task.

The lead task reads only the head of the file: it detects the encoding, delimiter and header, and
estimates the rows from the head's lines. It then records nominal byte offsets (``size * k / n``)
and nothing else. Each part's task finds its own start and end from them with ``find_boundary``,
the same function for both, so the end one part finds is the start the next finds:

- ``find_boundary`` reads a window of bytes from just before the offset and follows two
  hypotheses, "the offset is outside a quoted field" and "inside one", through the quotes,
  delimiters and newlines of the window (RFC 4180: a quote inside a quoted field is doubled, so
  quotes keep their parity). A hypothesis dies at a closing quote followed by anything but a
  delimiter, a newline or another quote. The first newline that ends a record under the surviving
  hypothesis is the boundary; when both survive, "outside" wins (the wider window decides first).
- The guess is then proved: each part but the last reads its range followed by a sentinel line
  (``SENTINEL``). Part 0 starts at the file's start, a true record boundary; a part that started
  on one ends on one exactly when the parser reads the sentinel back as a record of its own (had
  the end fallen inside a quoted field, the sentinel would have been swallowed into a cell). By
  induction every part starts and ends on a record, or the part raises ``PartBoundaryError`` and
  the job fails saying so: a file is never imported garbled.

A workbook (XLSX) cannot be cut where it lies: the lead reads it once and writes its rows as a
UTF-8 CSV file to the job storage (``write_csv``: the same cells, the same row numbers), which
the parts then cut and read as any CSV file; the file is deleted when the run ends.

Row numbers: a part numbers its records from its own start (part 0 counts the header as row 1, as
the whole file does) and records how many it read; the merge adds the records of the parts before
it (``row_offsets``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.csv import CSVReader, LineTooLongError

#: Bytes read first around a nominal offset; the window grows four times until it decides.
WINDOW = 256 * 1024
#: The widest window: past it no boundary is found and the part is empty (the next one reads it).
MAX_WINDOW = 64 * 1024 * 1024
#: The most parts a file is cut into.
MAX_PARTS = 256
#: A line no CSV file holds: read back as a record of its own only when a part ends on a record.
SENTINEL = "\x1e\x1fdxt-part-end\x1f\x1e"
#: Multi-byte encodings whose trail bytes start at 0x40: a newline (0x0A), a quote (0x22) and a
#: delimiter below 0x40 (comma, semicolon, tab) never occur inside a character.
_TRAIL_FROM_0X40 = {
    "shift_jis",
    "cp932",
    "shift_jis_2004",
    "shift_jisx0213",
    "gbk",
    "gb2312",
    "gb18030",
    "big5",
    "cp950",
    "big5hkscs",
    "cp949",
    "euc_kr",
    "euc_jp",
    "euc_jis_2004",
    "euc_jisx0213",
}
#: Multi-byte encodings that never use bytes below 0x80 inside a character.
_ASCII_SAFE = {"utf_8", "utf_8_sig"}


class PartBoundaryError(FileFormatError):
    """A part did not end on a record boundary: the file cannot be cut there."""


def cuttable(encoding: str, delimiter: str) -> bool:
    """Return True when the file's bytes can be cut at a newline found byte by byte."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        return False
    name = info.name.replace("-", "_")
    special = '\n\r"' + delimiter
    if name in _ASCII_SAFE:
        return all(ord(char) < 0x80 for char in special)
    try:
        if any(len(char.encode(info.name)) != 1 or ord(char) > 0x7F for char in special):
            return False
    except UnicodeError:
        return False
    if name in _TRAIL_FROM_0X40:
        return all(ord(char) < 0x40 for char in special)
    return _single_byte(info.name)


def _single_byte(encoding: str) -> bool:
    """Return True for a code page that decodes each byte on its own (no multi-byte state)."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    except LookupError:
        return False
    if decoder.decode(b"\x00" * 4) == "":  # UTF-16 / UTF-32 wait for more bytes
        return False
    return all(len(decoder.decode(bytes([byte]))) == 1 for byte in range(0x80, 0x100))


def part_count(file_size: int, head: bytes, part_rows: int) -> int:
    """Return how many parts a file of ``file_size`` bytes is cut into (1: not cut).

    The rows are estimated from the head's lines (the head is the file's first bytes). A file
    estimated over ``part_rows`` is cut into the whole number of parts nearest to its rows over
    ``part_rows`` (at least two): parts of about ``part_rows`` rows, between half and 1.5 times
    it. Not the next whole number: an estimate a little over N parts' rows (the header line, an
    estimate a few percent high) would add a part, and N parts of 1/N of the file spread evenly
    over workers that N divides, where N + 1 smaller ones leave all but one of them idle while
    the last part runs (measured on 2 workers with parts of an eighth of a 1M-row file: 9 parts
    took 21.7 s where 8 would take four parts' time, 18 s).
    """
    if part_rows <= 0 or not file_size:
        return 1
    lines = head.count(b"\n")
    if len(head) >= file_size:
        rows = lines
    elif not lines:
        return 1
    else:
        rows = int(file_size * lines / len(head))
    if rows <= part_rows:
        return 1
    return min(MAX_PARTS, max(2, round(rows / part_rows)))


def nominal_offsets(file_size: int, count: int) -> list[tuple[int, int | None]]:
    """Return the nominal ``(start, end)`` of each of ``count`` parts (the last ends at None)."""
    starts = [file_size * index // count for index in range(count)]
    return [(start, starts[i + 1] if i + 1 < count else None) for i, start in enumerate(starts)]


_QUOTE, _NEWLINE, _CR = ord('"'), ord("\n"), ord("\r")


def _events(data: bytes, delimiter: int) -> list[tuple[int, int]]:
    pattern = re.compile(b'["\\n' + re.escape(bytes([delimiter])) + b"]")
    return [(match.start(), data[match.start()]) for match in pattern.finditer(data)]


def _closing(data: bytes, position: int, delimiter: int) -> int:
    """Return what a quote inside a quoted cell does: 0 closes it, 1 is doubled, -1 is odd."""
    following = data[position + 1] if position + 1 < len(data) else None
    if following == _QUOTE:
        return 1
    if following is None or following in (delimiter, _NEWLINE, _CR):
        return 0
    return -1  # "abc"x: the csv module goes on, unquoted


def _doubt(data: bytes, delimiter: int, at_eof: bool) -> int:
    """Return how odd the bytes after ``data[0]``, a newline, look when parsed as records.

    2 for a closing quote followed by anything but a delimiter, a newline or another quote, 1 for
    a stray quote inside an unquoted cell (``5" screen``, literal to the csv module and rare), 2
    for a file that ends inside a quoted cell. The true record boundary gives 0 on RFC 4180 text.
    """
    quoted, doubt, skip = False, 0, -1
    for position, byte in _events(data, delimiter):
        if position == 0 or position < skip:
            continue
        if quoted:
            if byte == _QUOTE:
                role = _closing(data, position, delimiter)
                skip = position + 2 if role == 1 else skip
                quoted = role == 1
                doubt += 2 if role < 0 else 0
        elif byte == _QUOTE:
            opens = data[position - 1] in (delimiter, _NEWLINE)
            quoted = opens
            doubt += 0 if opens else 1
    return doubt + (2 if quoted and at_eof else 0)


#: Bytes after a candidate boundary that its parse is judged on.
JUDGED = 128 * 1024
#: Candidate newlines tried before the least doubtful one is taken.
CANDIDATES = 64


def _decide(data: bytes, delimiter: int, at_eof: bool) -> int | None:
    """Return the first newline of the window after which the bytes parse as records with no
    doubt (or the least doubtful one), as an index just past it; None when undecided."""
    newlines = [m.start() for m in re.finditer(b"\n", data)]
    best: tuple[int, int] | None = None
    for position in newlines[:CANDIDATES]:
        judged = data[position : position + JUDGED]
        end_reached = at_eof and position + JUDGED >= len(data)
        doubt = _doubt(judged, delimiter, end_reached)
        if doubt == 0:
            return position + 1
        if best is None or doubt < best[0]:
            best = (doubt, position + 1)
    if best is not None and (at_eof or len(newlines) >= CANDIDATES):
        return best[1]
    if at_eof:
        return len(data)
    return None


def find_boundary(
    read: Callable[[int, int], bytes], offset: int, file_size: int, delimiter: str
) -> int:
    """Return the byte offset of the first record that starts at or after ``offset``.

    :param read: ``read(start, size)`` returns the file's bytes from ``start``.
    Returns ``file_size`` when no record starts after ``offset``. The same offset always gives the
    same answer: the end one part finds is the start the next finds.
    """
    if offset <= 0:
        return 0
    if offset >= file_size:
        return file_size
    window = WINDOW
    delimiter_byte = ord(delimiter)
    while True:
        data = read(offset - 1, window + 1)
        at_eof = offset - 1 + len(data) >= file_size
        found = _decide(data, delimiter_byte, at_eof)
        if found is not None:
            return min(file_size, offset - 1 + found)
        if window >= MAX_WINDOW:
            return file_size
        window *= 4


class _Sentinel(io.RawIOBase):
    """A raw stream: ``stream`` and then ``tail``."""

    def __init__(self, stream: IO[bytes], tail: bytes) -> None:
        super().__init__()
        self._stream = stream
        self._tail = memoryview(tail)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._stream is not None:
            data = self._stream.read(len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
            self._stream.close()
            self._stream = None  # type: ignore[assignment]
        size = min(len(buffer), len(self._tail))
        buffer[:size] = self._tail[:size]
        self._tail = self._tail[size:]
        return size

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        super().close()


def with_sentinel(stream: IO[bytes], encoding: str) -> IO[bytes]:
    """Return ``stream`` followed by the sentinel line, in ``encoding``."""
    tail = f"{SENTINEL}\n".encode(encoding.replace("-sig", "").replace("_sig", ""))
    return io.BufferedReader(_Sentinel(stream, tail), buffer_size=256 * 1024)


class CSVPartReader(CSVReader):
    """Read one part of a CSV file: its records numbered from the part's start.

    Part 0 reads the header itself (its stream starts at the file's start); a later part is given
    the header the lead read. A part that is not the last reads the sentinel line after its range
    (``with_sentinel``), which ``records`` does not count; ``iter_rows`` raises
    ``PartBoundaryError`` when it does not read the sentinel back.
    """

    def __init__(
        self,
        stream: IO[bytes],
        *,
        max_cell_length: int,
        encoding: str,
        delimiter: str,
        headers: Sequence[str] | None,
        verify: bool,
        size: int,
    ) -> None:
        super().__init__(
            stream, max_cell_length=max_cell_length, encoding=encoding, delimiter=delimiter
        )
        self.given_headers = list(headers) if headers is not None else None
        self.verify = verify
        self.size = size
        #: The records read (part 0: the header included), known once ``iter_rows`` ends.
        self.records = 0

    def open(self) -> None:
        if self.given_headers is None:
            super().open()
            return
        encoding = self.encoding
        if encoding.replace("-", "_").lower() in ("utf_8_sig", "utf8_sig"):
            encoding = "utf-8"  # a BOM is only at the file's start
        # the part's byte range, read as is (the whole file's reader buffers a sniffed head)
        self.text = io.TextIOWrapper(self.stream, encoding=encoding, newline="")  # type: ignore[arg-type]
        csv.field_size_limit(self.max_cell_length)
        self._bytes_per_char = 1.0
        self.chars_read = 0
        self._header_bytes = 0
        self.headers = self.given_headers
        columns = len(self.headers) + 4
        self._line_limit = 2 * self.max_cell_length * columns + 64 * 1024
        self._rows = csv.reader(self._lines(), delimiter=self.delimiter)

    def iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        row_number = 1 if self.given_headers is None else 0
        ended = False
        try:
            for cells in self._rows:
                if self.verify and len(cells) == 1 and cells[0] == SENTINEL:
                    ended = True
                    break
                row_number += 1
                if any(map(str.strip, cells)):
                    yield row_number, cells
        except (UnicodeDecodeError, csv.Error, LineTooLongError) as exc:
            raise self._error(exc, row_number + 1) from exc
        if self.verify and not ended:
            raise PartBoundaryError(
                "The file could not be cut into parts at a record boundary (a quoted cell spans "
                "the place where it was cut)."
            )
        self.records = row_number

    def estimate_total_rows(self, rows_done: int, file_size: int | None) -> int:
        return super().estimate_total_rows(rows_done, self.size)


def write_csv(headers: Sequence[str], rows: Iterable[tuple[int, list[str]]], out: IO[str]) -> int:
    """Write a workbook's rows as CSV that reads back as the same cells with the same numbers.

    Every cell is quoted (a cell holding a newline, a quote or a comma reads back whole), and a
    row the workbook skips (blank) is a blank line, which the CSV reader counts and skips as the
    workbook reader does. Returns the rows written.
    """
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(headers)
    last, count = 1, 0
    for number, cells in rows:
        if number > last + 1:
            out.write("\n" * (number - last - 1))
        writer.writerow(cells)
        last, count = number, count + 1
    return count


def row_offsets(records: Sequence[int]) -> list[int]:
    """Return what each part adds to its row numbers: the records of the parts before it."""
    offsets, total = [], 0
    for count in records:
        offsets.append(total)
        total += count
    return offsets
