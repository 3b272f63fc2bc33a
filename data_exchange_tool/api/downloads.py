"""
The API's downloads: the uploaded file as it was stored, and the error report.

The error report is a CSV of the invalid rows in the uploaded file's own columns, plus an
``errors`` column saying what is wrong with each row, so it can be fixed in a spreadsheet and
uploaded again. It is streamed from the database, a few thousand rows at a time. Cells a
spreadsheet would run as a formula are prefixed with ``'`` (``data_exchange_tool.formulas``).
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterable, Iterator
from itertools import groupby
from operator import attrgetter
from typing import IO, Any

from django.utils.http import content_disposition_header
from rest_framework.renderers import BaseRenderer

from data_exchange_tool.formulas import neutralize
from data_exchange_tool.models import ImportJob, ImportJobRowError, Phase
from data_exchange_tool.readers import get_reader
from data_exchange_tool.storage import open_stream

logger = logging.getLogger(__name__)

#: The column of the error report that says what is wrong with each row.
ERROR_COLUMN = "errors"


class CSVRenderer(BaseRenderer):
    """Lets clients ask for ``text/csv``; the CSV itself is streamed by the view."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        """Return bytes unchanged (views stream their CSV; errors are rendered as JSON)."""
        return data if isinstance(data, bytes) else str(data).encode()


class FileRenderer(CSVRenderer):
    """Lets clients ask for any media type for the stored file."""

    media_type = "*/*"
    format = "file"
    charset = None


def open_job_file(job: ImportJob) -> IO[bytes]:
    """Open the job's stored file as a stream."""
    return open_stream(job.file.name)


def file_headers(job: ImportJob) -> list[str]:
    """Return the header row of the job's file, or [] when it cannot be read any more."""
    try:
        reader = get_reader(job.file_name or job.file.name, open_job_file(job))
        with reader:
            return list(reader.headers)
    except Exception:  # gone from storage, unreadable: fall back to the recorded values
        logger.warning(
            "data_exchange_tool: cannot read the header of job %s", job.pk, exc_info=True
        )
        return []


def report_phase(job: ImportJob) -> str:
    """Return the phase whose errors describe the job now: the import's when it recorded any."""
    if ImportJobRowError.objects.filter(job=job, phase=Phase.IMPORT).exists():
        return Phase.IMPORT
    return Phase.PREVIEW


def describe_errors(errors: list[ImportJobRowError]) -> str:
    """Return one cell naming every problem of a row."""
    return "; ".join(f"{e.column}: {e.message}" if e.column else e.message for e in errors)


def report_rows(job: ImportJob, phase: str) -> Iterator[list[str]]:
    """Yield the header then one row per invalid row of the file, in file order."""
    errors = ImportJobRowError.objects.filter(job=job, phase=phase).order_by("row_number", "id")
    headers = file_headers(job)
    if not headers:
        first = errors.first()
        headers = list(first.values) if first is not None else []
    yield [*headers, ERROR_COLUMN]
    for _number, group in groupby(errors.iterator(chunk_size=2000), key=attrgetter("row_number")):
        row_errors = list(group)
        values = row_errors[0].values or {}
        cells = [str(values.get(header, "")) if header else "" for header in headers]
        yield [neutralize(cell) for cell in cells] + [neutralize(describe_errors(row_errors))]


class _Line:
    """A file-like object whose ``write`` returns what was written (for ``csv.writer``)."""

    def write(self, value: str) -> str:
        return value


def stream_csv(rows: Iterable[list[str]]) -> Iterator[bytes]:
    """Yield a UTF-8 CSV (with a BOM, so spreadsheets detect the encoding) line by line."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield "\ufeff".encode()
    for row in rows:
        yield writer.writerow(row).encode("utf-8")


def report_file_name(job: ImportJob) -> str:
    """Return the download name of the error report: the upload's name plus ``-errors``."""
    stem = os.path.splitext(job.file_name or f"job-{job.pk}")[0]
    return f"{stem}-errors.csv"


def attachment(response: Any, filename: str) -> Any:
    """Mark ``response`` as a download named ``filename`` (quoted safely)."""
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
