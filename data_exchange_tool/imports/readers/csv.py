"""
CSV reader: any common text encoding read right or refused, the delimiter judged from the records.

The first ``SNIFF_BYTES`` decide, unless the person named them on upload:

- what the file is: one that is not text (a PNG, a workbook renamed ``.csv``, binary data) is
  refused saying what it looks like (``signatures``);
- its encoding (``encodings.detect``): a BOM (UTF-8, UTF-16, UTF-32: Excel's "Unicode Text" is
  UTF-16 with tabs), strict UTF-8, else the most credible legacy code page, else a refusal naming
  what was tried. When a later byte shows the guess wrong (UTF-8 for the first 64 KiB, then
  cp1252), the code page is detected on the bytes around it and the preview starts again in it;
- its delimiter (``delimiters.sniff_delimiter``), among ``DATA_EXCHANGE_CSV_DELIMITERS``.

The file is then decoded as a stream. Lines are read with a bound (a cell may be at most
``DATA_EXCHANGE_MAX_CELL_LENGTH`` characters, a line a few times that per column), so a file of
one 240 MiB line is refused without being held in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import IO, Any

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import EncodingGuessError, FileFormatError
from data_exchange_tool.imports.readers.base import BaseReader
from data_exchange_tool.imports.readers.delimiters import sniff_delimiter
from data_exchange_tool.imports.readers.encodings import (
    AmbiguousEncodingError,
    detect,
    redetect,
)
from data_exchange_tool.imports.readers.signatures import describe, not_text

#: Bytes read first, to tell the encoding and the delimiter.
SNIFF_BYTES = 64 * 1024
#: Longest first line, in characters: a header row, not a whole file on one line.
HEADER_LINE_LIMIT = 1024 * 1024
#: Columns a data row may hold beyond the header's before its line counts as too long.
EXTRA_COLUMNS = 4


class _Prepended(io.RawIOBase):
    """A raw stream that yields ``head`` and then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class LineTooLongError(Exception):
    """A physical line is longer than the reader's bound (caught and reported with its row)."""


def decoded_sample(head: bytes, encoding: str, complete: bool) -> str:
    """Return the text of ``head`` in ``encoding`` (a character cut at its end left out)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(head, final=complete)


class CSVReader(BaseReader):
    """Read a CSV file as a stream of rows."""

    extensions = (".csv", ".txt", ".tsv")
    format_name = "CSV"
    takes_encoding = True
    takes_delimiter = True

    def open(self) -> None:
        head = self.stream.read(SNIFF_BYTES)
        complete = len(head) < SNIFF_BYTES
        if not head.strip():
            raise FileFormatError("The file is empty.")
        what = describe(head) if self.encoding_given else not_text(head)
        if what:
            raise FileFormatError(f"This is not a CSV text file (it looks like {what}).")
        if not self.encoding_given:
            legacy = tuple(app_settings.CSV_ENCODINGS)
            self.encoding = detect(head, complete, legacy).encoding
        try:
            sample = decoded_sample(head, self.encoding, complete)
        except LookupError:
            raise FileFormatError(f"Unknown text encoding {self.encoding[:40]!r}.") from None
        if not sample.strip():
            raise FileFormatError("The file is empty.")
        if not self.delimiter:
            self.delimiter = sniff_delimiter(sample, app_settings.CSV_DELIMITERS, complete)
        raw = io.BufferedReader(_Prepended(head, self.stream), buffer_size=SNIFF_BYTES)
        self.text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
        csv.field_size_limit(self.max_cell_length)
        # Progress is estimated from the text the parser took, not the bytes read ahead into
        # buffers (a small file is read whole at once); bytes per character from the head.
        self._bytes_per_char = len(head) / max(1, len(sample))
        self.chars_read = 0
        self._line_limit = max(HEADER_LINE_LIMIT, 4 * self.max_cell_length)
        self._rows = csv.reader(self._lines(), delimiter=self.delimiter)
        self.headers = self.check_headers(self._next_row(1))
        self._header_bytes = self.chars_read * self._bytes_per_char
        columns = len(self.headers) + EXTRA_COLUMNS
        self._line_limit = 2 * self.max_cell_length * columns + SNIFF_BYTES

    def _lines(self) -> Iterator[str]:
        """Yield the text's physical lines, each at most ``_line_limit`` characters."""
        readline = self.text.readline
        while True:
            limit = self._line_limit
            line = readline(limit + 1)
            if not line:
                return
            if len(line) > limit and line[-1] not in "\r\n":
                raise LineTooLongError
            self.chars_read += len(line)
            yield line

    def _next_row(self, row_number: int) -> list[str]:
        """Return the next record, turning the errors of reading it into clear ones."""
        try:
            return next(self._rows, [])
        except (UnicodeDecodeError, csv.Error, LineTooLongError) as exc:
            raise self._error(exc, row_number) from exc

    def _error(self, exc: Exception, row_number: int) -> FileFormatError:
        """Return the error for a record that cannot be read."""
        if isinstance(exc, UnicodeDecodeError):
            return self._decode_error(exc)
        if isinstance(exc, LineTooLongError):
            if row_number == 1:
                return FileFormatError(
                    f"The first line is longer than {self._line_limit:,} characters: it is not "
                    "a header row (is this a CSV text file?)."
                )
            return FileFormatError(
                f"Row {row_number} is longer than {self._line_limit:,} characters: a cell is "
                f"longer than {self.max_cell_length} characters, or the row has far more cells "
                "than the header."
            )
        if "field larger than field limit" in str(exc):
            return self.too_long(row_number)
        return FileFormatError(f"Row {row_number} cannot be read: {exc}.")

    def _decode_error(self, exc: UnicodeDecodeError) -> FileFormatError:
        """Return the error for text that is not in the encoding: detect again, or give up."""
        byte = f"byte 0x{exc.object[exc.start]:02X}" if exc.start < len(exc.object) else "a byte"
        if not self.encoding_given:
            legacy = tuple(app_settings.CSV_ENCODINGS)
            try:
                found = redetect(bytes(exc.object), self.encoding, legacy)
            except AmbiguousEncodingError as ambiguous:
                return FileFormatError(
                    f"The file is not {self.encoding} text past its first bytes ({byte} cannot "
                    f"be decoded). {ambiguous}"
                )
            if found:
                return EncodingGuessError(
                    f"The file is not {self.encoding} past its first bytes; reading it as {found}.",
                    found,
                )
        return FileFormatError(
            f"The file is not valid {self.encoding} text ({byte} cannot be decoded): choose its "
            "encoding on upload, or save it as UTF-8 (in Excel: 'CSV UTF-8 (comma delimited)')."
        )

    def iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        # One plain loop over csv.reader (the hot path); errors are turned into clear ones here.
        row_number = 1
        try:
            for cells in self._rows:
                row_number += 1
                if any(map(str.strip, cells)):
                    yield row_number, cells
        except (UnicodeDecodeError, csv.Error, LineTooLongError) as exc:
            raise self._error(exc, row_number + 1) from exc

    def estimate_total_rows(self, rows_done: int, file_size: int | None) -> int:
        read = self.chars_read * self._bytes_per_char
        if not file_size or not read or not rows_done:
            return rows_done
        return max(rows_done, int(rows_done * (file_size - self._header_bytes) / read))

    def close(self) -> None:
        text = getattr(self, "text", None)
        if text is not None:
            text.close()
        super().close()
