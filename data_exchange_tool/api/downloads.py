"""
The API's downloads: the uploaded file as it was stored, and the error report.

The error report is a CSV of the invalid rows in the uploaded file's own columns, plus an
``errors`` column saying what is wrong with each row, so it can be fixed in a spreadsheet and
uploaded again. It is streamed from the database, a few thousand rows at a time. Cells a
spreadsheet would run as a formula are prefixed with ``'`` (``data_exchange_tool.formulas``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.utils.http import content_disposition_header
from rest_framework.renderers import BaseRenderer

from data_exchange_tool.imports import reports
from data_exchange_tool.imports.reports import csv_chunks, error_report_rows, report_phase
from data_exchange_tool.models import ImportJob
from data_exchange_tool.storage import open_stream

__all__ = [
    "CSVRenderer",
    "FileRenderer",
    "attachment",
    "open_job_file",
    "report_file_name",
    "report_phase",
    "report_rows",
    "stream_csv",
]


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


def report_rows(job: ImportJob, phase: str) -> Iterator[list[Any]]:
    """Yield the error report's header, then one row per invalid row (``reports``)."""
    return error_report_rows(job, phase)


def stream_csv(rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """Yield a UTF-8 CSV (with a BOM, so spreadsheets detect the encoding) line by line."""
    return (chunk.encode("utf-8") for chunk in csv_chunks(rows))


def report_file_name(job: ImportJob) -> str:
    """Return the download name of the error report (always CSV in the API)."""
    return reports.report_file_name(job, "csv")


def attachment(response: Any, filename: str) -> Any:
    """Mark ``response`` as a download named ``filename`` (quoted safely)."""
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
