"""
File readers, chosen by the file's extension: CSV (and TSV, TXT), XLSX (XLSM), XLS, ODS, XLSB,
JSON and JSON Lines.

``get_reader(name, stream)`` returns a reader for ``name``; ``READERS`` is the table of formats
(extend it to add one). See ``readers.base.BaseReader`` for the interface.
"""

from __future__ import annotations

import os
from typing import IO

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.base import BaseReader
from data_exchange_tool.imports.readers.csv import CSVReader
from data_exchange_tool.imports.readers.json import JSONLinesReader, JSONReader
from data_exchange_tool.imports.readers.ods import ODSReader
from data_exchange_tool.imports.readers.xls import XLSReader
from data_exchange_tool.imports.readers.xlsb import XLSBReader
from data_exchange_tool.imports.readers.xlsx import XLSXReader

__all__ = [
    "READERS",
    "BaseReader",
    "CSVReader",
    "JSONLinesReader",
    "JSONReader",
    "ODSReader",
    "XLSBReader",
    "XLSReader",
    "XLSXReader",
    "get_reader",
    "get_reader_class",
]

READERS: list[type[BaseReader]] = [
    CSVReader,
    XLSXReader,
    XLSReader,
    ODSReader,
    XLSBReader,
    JSONReader,
    JSONLinesReader,
]


def supported_extensions() -> list[str]:
    """Return every extension a reader takes, such as ``[".csv", ".xlsx"]``."""
    return [ext for reader in READERS for ext in reader.extensions]


def get_reader_class(name: str) -> type[BaseReader]:
    """Return the reader class for a file name, or raise ``FileFormatError``."""
    extension = os.path.splitext(name)[1].lower()
    for reader in READERS:
        if extension in reader.extensions:
            return reader
    allowed = ", ".join(supported_extensions())
    raise FileFormatError(
        f"Files of type {extension or '(none)'!r} are not supported: use {allowed}."
    )


def get_reader(name: str, stream: IO[bytes], encoding: str = "", delimiter: str = "") -> BaseReader:
    """Return a reader for the file ``name`` over ``stream`` (not opened yet).

    :param encoding: the text encoding to use instead of detecting it (CSV, JSON).
    :param delimiter: the delimiter to use instead of sniffing it (CSV).
    """
    return get_reader_class(name)(
        stream,
        max_cell_length=app_settings.MAX_CELL_LENGTH,
        encoding=encoding,
        delimiter=delimiter,
    )
