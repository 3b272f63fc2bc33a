"""
Errors raised by data_exchange_tool.

One base, ``DataExchangeError``; every subclass passes all its arguments to ``super().__init__``
so it pickles across Celery. A row that fails validation is data (a ``RowError``), never raised.
"""

from __future__ import annotations

from typing import Any


class DataExchangeError(Exception):
    """Base of every error of this library."""


class ConfigurationError(DataExchangeError):
    """A job type is declared wrongly (the system checks report these at start-up)."""


class FileFormatError(DataExchangeError):
    """The file cannot be read: unknown format, corrupt, empty, wrong encoding, missing columns.

    Its message is meant for the person who uploaded the file.
    """


class EncodingGuessError(FileFormatError):
    """A CSV file turned out, past its first bytes, not to be in the encoding guessed from them.

    ``encoding`` is the next one to try; the preview starts again with it.
    """

    def __init__(self, message: str, encoding: str) -> None:
        super().__init__(message, encoding)
        self.encoding = encoding

    def __str__(self) -> str:
        return str(self.args[0])


class UploadRefusedError(DataExchangeError):
    """An uploaded file can never be read (type, size, signature); ``code`` names the reason."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class TransitionRefusedError(DataExchangeError):
    """A state change was asked for that the job's state or options do not allow."""

    def __init__(self, message: str, state: str = "", code: str = "transition_not_allowed") -> None:
        super().__init__(message, state, code)
        self.message = message
        self.state = state
        self.code = code

    def __str__(self) -> str:
        return self.message


class JobLockedError(TransitionRefusedError):
    """Another import into the same target model is running; ``holder`` names that job."""

    def __init__(self, message: str, holder_pk: Any = None, state: str = "") -> None:
        super().__init__(message, state, "locked")
        self.args = (message, holder_pk, state)
        self.holder_pk = holder_pk


class ImportCancelledError(DataExchangeError):
    """The job was cancelled while its task ran; the transaction is rolled back."""


class ImportAbortedError(DataExchangeError):
    """The import found invalid rows and is not forced: nothing is written."""


class WriteRefusedError(DataExchangeError):
    """The database refused a batch the import wrote (or would have: a value is checked again
    before it is sent); the import rolls back.

    ``row_index`` is the row's index in the rows given to the writer (None when the database
    named no row), ``column`` the column it named (or ""). The import's writer sets ``outcome``,
    the row of the file it was, and ``batch``, the rows written with it.
    """

    def __init__(self, message: str, row_index: int | None = None, column: str = "") -> None:
        super().__init__(message, row_index, column)
        self.message = message
        self.row_index = row_index
        self.column = column
        self.outcome: Any = None
        self.batch: list[Any] = []

    def __str__(self) -> str:
        return self.message


class ExportFilterError(DataExchangeError):
    """The filters given to an export are not valid for its FilterSet; ``errors`` says why."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, errors)
        self.message = message
        self.errors = errors or {}

    def __str__(self) -> str:
        return self.message


class ExportLimitError(DataExchangeError):
    """The rows do not fit the format asked for (an XLSX sheet's rows, a cell's characters)."""


class ExportCancelledError(DataExchangeError):
    """The export was cancelled while its task ran; the partial file is discarded."""


class URLFetchError(DataExchangeError):
    """A file could not be downloaded from a URL; the message says why, for a person."""
