"""
The reader interface: a file in, rows of cell texts out.

A reader turns a binary stream into ``headers`` (the first row) and ``iter_rows()``, which yields
``(row_number, cells)`` for every non-blank row, where ``row_number`` is the row a person sees in
a spreadsheet (the header is row 1; a JSON array counts its objects from 1, JSON Lines its lines)
and every cell is the text a person sees. Readers never hold the whole file in memory (an XLS
workbook, at most 65,536 rows, and an XLSB sheet are the exceptions: their libraries load the
sheet). Problems with the file as a whole raise ``FileFormatError`` with a message for the person
who uploaded it; the header must name each column once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, ClassVar

from data_exchange_tool.exceptions import FileFormatError


def repeated_headers(headers: list[str]) -> list[str]:
    """Return the headers that occur more than once (ignoring case and surrounding spaces)."""
    seen: dict[str, int] = {}
    for header in headers:
        key = " ".join(header.split()).casefold()
        if key:
            seen[key] = seen.get(key, 0) + 1
    firsts = {" ".join(h.split()).casefold(): h.strip() for h in reversed(headers)}
    return [firsts[key] for key, count in seen.items() if count > 1]


class BaseReader:
    """Base of the file readers; subclasses set ``extensions`` and implement ``iter_rows``."""

    #: Lower-case file extensions (with the dot) this reader takes.
    extensions: ClassVar[tuple[str, ...]] = ()
    #: A short name of the format, shown to people.
    format_name: ClassVar[str] = ""
    #: The format is text in some encoding (CSV, JSON); the others ignore a given encoding.
    takes_encoding: ClassVar[bool] = False
    #: The format has a delimiter (CSV); the others ignore a given delimiter.
    takes_delimiter: ClassVar[bool] = False

    def __init__(
        self,
        stream: IO[bytes],
        *,
        max_cell_length: int,
        encoding: str = "",
        delimiter: str = "",
    ) -> None:
        self.stream = stream
        self.max_cell_length = max_cell_length
        self.headers: list[str] = []
        #: The text encoding, for formats that have one: given, or detected by ``open()``.
        self.encoding: str = encoding if self.takes_encoding else ""
        self.encoding_given = bool(self.encoding)
        #: The delimiter, for formats that have one (CSV): given, or detected by ``open()``.
        self.delimiter: str = delimiter if self.takes_delimiter else ""

    def open(self) -> None:
        """Read what comes before the rows (encoding, headers). Override in subclasses."""
        raise NotImplementedError

    def iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(row_number, cells)`` for each non-blank row after the header."""
        raise NotImplementedError

    def estimate_total_rows(self, rows_done: int, file_size: int | None) -> int:
        """Return an estimate of the rows in the file, for progress; override where known."""
        return rows_done

    def close(self) -> None:
        """Release the stream and anything the reader made."""
        self.stream.close()

    def __enter__(self) -> BaseReader:
        try:
            self.open()
        except BaseException:
            self.close()  # what open() made so far: a spooled copy, a child process
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def check_headers(self, headers: list[str]) -> list[str]:
        """Return the header row without trailing blanks, or raise if it cannot name columns.

        Refused: no header, a header holding a NUL character, and headers that repeat (ignoring
        case and surrounding spaces, as columns are matched): which column would count?
        """
        while headers and not headers[-1].strip():
            headers.pop()
        if not headers:
            raise FileFormatError(
                "The file has no header row: its first row must name the columns."
            )
        if any("\x00" in header for header in headers):
            raise FileFormatError(
                "The header row contains a NUL character: is the file really text?"
            )
        repeated = repeated_headers(headers)
        if repeated:
            raise FileFormatError(
                f"The header row names {'this column' if len(repeated) == 1 else 'these columns'}"
                f" more than once: {', '.join(repeated)}. Give each column its own header."
            )
        return headers

    def too_long(self, row_number: int) -> FileFormatError:
        """Return the error for a cell longer than the limit."""
        return FileFormatError(
            f"Row {row_number} has a cell longer than {self.max_cell_length} characters."
        )
