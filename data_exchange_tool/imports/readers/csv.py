"""
CSV reader: UTF-8 (with or without BOM) first, then the configured fallbacks (cp1252, latin-1),
decoded as a stream; the delimiter is sniffed from the header line among ``,`` ``;`` tab ``|``.
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

SNIFF_BYTES = 64 * 1024


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


def detect_encoding(head: bytes, complete: bool) -> str:
    """Return the codec of a file that starts with ``head``.

    :param complete: ``head`` is the whole file (no multibyte character is cut at its end).
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    for encoding in app_settings.CSV_FALLBACK_ENCODINGS:
        try:
            head.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileFormatError("The file's text encoding is not recognised: save it as UTF-8 CSV.")


def looks_binary(head: bytes) -> bool:
    """Return True when the first line holds NUL bytes: a binary file, or UTF-16 text.

    A NUL further down is one cell's problem, reported on its row by validation.
    """
    return b"\x00" in head.split(b"\n", 1)[0]


def sniff_delimiter(line: str) -> str:
    """Return the candidate delimiter that occurs most often in the header line."""
    candidates = app_settings.CSV_DELIMITERS
    counts = {delimiter: line.count(delimiter) for delimiter in candidates}
    best = max(candidates, key=lambda d: counts[d])
    return best if counts[best] else ","


class CSVReader(BaseReader):
    """Read a CSV file as a stream of rows."""

    extensions = (".csv", ".txt", ".tsv")
    format_name = "CSV"

    def open(self) -> None:
        head = self.stream.read(SNIFF_BYTES)
        if not head.strip():
            raise FileFormatError("The file is empty.")
        if looks_binary(head):
            raise FileFormatError(
                "The file contains NUL bytes, so it is not a CSV text file "
                "(is it a spreadsheet saved under a .csv name?)."
            )
        if not self.encoding_given:
            self.encoding = detect_encoding(head, complete=len(head) < SNIFF_BYTES)
        raw = io.BufferedReader(_Prepended(head, self.stream), buffer_size=SNIFF_BYTES)
        self.text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
        first_line = self._decode(self.text.readline)
        delimiter = sniff_delimiter(first_line)
        csv.field_size_limit(self.max_cell_length)
        # Progress is estimated from the text the parser took, not the bytes read ahead into
        # buffers (a small file is read whole at once); bytes per character from the head.
        self._bytes_per_char = len(head) / max(1, len(head.decode(self.encoding, "ignore")))
        self.chars_read = 0
        self._header_bytes = len(first_line) * self._bytes_per_char
        self._rows = csv.reader(self._counted(self.text), delimiter=delimiter)
        self.headers = self.check_headers(
            self._parse(csv.reader([first_line], delimiter=delimiter), 1)
        )
        self.delimiter = delimiter

    def _parse(self, rows: Iterator[list[str]], row_number: int) -> list[str]:
        """Return the next row of ``rows``, turning the csv module's errors into clear ones."""
        try:
            return next(rows)
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise self.too_long(row_number) from exc
            raise FileFormatError(f"Row {row_number} cannot be read: {exc}.") from exc

    def _decode(self, read: Any) -> str:
        try:
            return read()
        except UnicodeDecodeError as exc:
            raise self._decode_error(exc) from exc

    def _decode_error(self, exc: UnicodeDecodeError) -> FileFormatError:
        """Return the error for text that is not in the encoding: try the next one, or give up."""
        fallback = self._next_encoding()
        if fallback:
            return EncodingGuessError(
                f"The file is not {self.encoding} past its first bytes; reading it as {fallback}.",
                fallback,
            )
        return FileFormatError(
            f"The file is not valid {self.encoding} text ({exc.reason} near byte "
            f"{exc.start}): save it as UTF-8 CSV."
        )

    def _next_encoding(self) -> str:
        """Return the fallback after a guessed encoding failed late, or "" if none is left."""
        if self.encoding_given or self.encoding == "utf-8-sig":
            return ""
        order = ["utf-8", *app_settings.CSV_FALLBACK_ENCODINGS]
        position = order.index(self.encoding) if self.encoding in order else len(order)
        return order[position + 1] if position + 1 < len(order) else ""

    def iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        # One plain loop over csv.reader (the hot path); errors are turned into clear ones here.
        row_number = 1
        try:
            for cells in self._rows:
                row_number += 1
                if any(map(str.strip, cells)):
                    yield row_number, cells
        except UnicodeDecodeError as exc:
            raise self._decode_error(exc) from exc
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise self.too_long(row_number + 1) from exc
            raise FileFormatError(f"Row {row_number + 1} cannot be read: {exc}.") from exc

    def _counted(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            self.chars_read += len(line)
            yield line

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
