"""
The reader interface: a file in, rows of cell texts out.

A reader turns a binary stream into ``headers`` (the first row) and ``iter_rows()``, which yields
``(row_number, cells)`` for every non-blank row, where ``row_number`` is the row a person sees in
a spreadsheet (the header is row 1) and every cell is the text a person sees. Readers never hold
the whole file in memory. Problems with the file as a whole raise ``FileFormatError`` with a
message for the person who uploaded it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, ClassVar

from data_exchange_tool.exceptions import FileFormatError


class BaseReader:
    """Base of the file readers; subclasses set ``extensions`` and implement ``iter_rows``."""

    #: Lower-case file extensions (with the dot) this reader takes.
    extensions: ClassVar[tuple[str, ...]] = ()
    #: A short name of the format, shown to people.
    format_name: ClassVar[str] = ""

    def __init__(self, stream: IO[bytes], *, max_cell_length: int, encoding: str = "") -> None:
        self.stream = stream
        self.max_cell_length = max_cell_length
        self.headers: list[str] = []
        #: The text encoding, for formats that have one: given, or detected by ``open()``.
        self.encoding: str = encoding
        self.encoding_given = bool(encoding)

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
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def check_headers(self, headers: list[str]) -> list[str]:
        """Return the header row without trailing blanks, or raise if there is none."""
        while headers and not headers[-1].strip():
            headers.pop()
        if not headers:
            raise FileFormatError(
                "The file has no header row: its first row must name the columns."
            )
        return headers

    def too_long(self, row_number: int) -> FileFormatError:
        """Return the error for a cell longer than the limit."""
        return FileFormatError(
            f"Row {row_number} has a cell longer than {self.max_cell_length} characters."
        )
