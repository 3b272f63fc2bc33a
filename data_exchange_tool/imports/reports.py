"""
The files a person downloads to fix a file or start one: the error report and the template.

- The error report holds the invalid rows as they were in the uploaded file, in the file's own
  columns, with one more column saying what is wrong, so a person can fix the rows and upload the
  report again. It describes the job as it is now: the import's errors when the import recorded
  any, else the preview's. Errors are streamed from the database, never loaded whole.
- The template is the header row a job type expects, built from its serializer.

The admin and the API both serve these (``data_exchange_tool.downloads``), written by the same
writers as exports (``data_exchange_tool.writers``), with text cells neutralised against
spreadsheet formulas.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers import get_reader
from data_exchange_tool.models import ImportJobRowError, Phase
from data_exchange_tool.storage import open_stream

if TYPE_CHECKING:
    from data_exchange_tool.models import ImportJob

logger = logging.getLogger(__name__)

#: Header of the column that says what is wrong with a row.
ERROR_COLUMN = "errors"
#: Error rows fetched per round trip while a report is written.
CHUNK_SIZE = 2000


#: Uploads whose error report is a workbook (an XLSX): the spreadsheets.
WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")


def file_format(name: str) -> str:
    """Return ``"xlsx"`` for a spreadsheet's name (XLSX, XLS, XLSB, ODS), else ``"csv"``."""
    return "xlsx" if os.path.splitext(name)[1].lower() in WORKBOOK_EXTENSIONS else "csv"


def template_columns(job_type: type[ImportJob]) -> list[str]:
    """Return the columns a file of ``job_type`` holds: the serializer's writable fields."""
    file_column = {field: column for column, field in job_type.get_column_mapping().items()}
    serializer = job_type.get_serializer_class()()
    return [
        file_column.get(name, name)
        for name, field in serializer.fields.items()
        if not field.read_only
    ]


def read_headers(job: ImportJob) -> list[str]:
    """Return the header row of the job's file, or [] when it cannot be read any more.

    The preview records it (``job.file_headers``); the file is read again only for a job
    previewed before that field existed.
    """
    if job.file_headers:
        return [header for header in job.file_headers if header]
    try:
        name = job.file_name or job.file.name or ""
        stream = open_stream(job.file.name or "")
        with get_reader(name, stream, job.file_encoding, job.file_delimiter) as reader:
            return [header for header in reader.headers if header]
    except FileFormatError:  # empty, not a table: its preview said so already; nothing to log
        return []
    except Exception:  # gone from storage: the recorded values still hold the names
        logger.warning(
            "data_exchange_tool: cannot read the header of job %s", job.pk, exc_info=True
        )
        return []


def report_phase(job: ImportJob) -> str:
    """Return the phase whose errors describe the job now: the import's when it recorded any."""
    if ImportJobRowError.objects.filter(job_id=job.pk, phase=Phase.IMPORT).exists():
        return Phase.IMPORT
    return Phase.PREVIEW


def describe_errors(errors: Iterable[ImportJobRowError]) -> str:
    """Return one row's problems as ``"column: message; ..."``."""
    parts = (f"{e.column}: {e.message}" if e.column else e.message for e in errors)
    return "; ".join(dict.fromkeys(parts))


def error_report_rows(job: ImportJob, phase: str | None = None) -> Iterator[list[Any]]:
    """Yield the report's header, then each invalid row's values and its errors, in file order."""
    errors = ImportJobRowError.objects.filter(job_id=job.pk, phase=phase or report_phase(job))
    errors = errors.order_by("row_number", "id")
    headers = read_headers(job)
    if not headers:
        first = errors.first()
        headers = list(first.values) if first is not None else []
    error_column = ERROR_COLUMN
    while error_column in headers:
        error_column += "_"
    yield [*headers, error_column]
    rows = itertools.groupby(errors.iterator(chunk_size=CHUNK_SIZE), key=attrgetter("row_number"))
    for _number, group in rows:
        row_errors = list(group)
        values = row_errors[0].values or {}
        yield [*(values.get(header, "") for header in headers), describe_errors(row_errors)]


def report_file_name(job: ImportJob, fmt: str | None = None) -> str:
    """Return the download name of the error report: the upload's name plus ``-errors``."""
    name = job.file_name or f"job-{job.pk}.csv"
    return f"{os.path.splitext(name)[0]}-errors.{fmt or file_format(name)}"
