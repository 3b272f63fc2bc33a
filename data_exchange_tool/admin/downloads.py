"""
The files a job page offers: the uploaded file (streamed from storage, never read whole), the
error report in the uploaded file's format, and the template. What they hold is built in
``data_exchange_tool.imports.reports``; this module turns it into HTTP responses.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from data_exchange_tool.imports.reports import (
    csv_chunks,
    error_report_rows,
    file_format,
    report_file_name,
    template_columns,
    xlsx_file,
)
from data_exchange_tool.storage import open_stream

if TYPE_CHECKING:
    from data_exchange_tool.models import ImportJob

__all__ = [
    "error_report_response",
    "template_columns",
    "template_response",
    "uploaded_file_response",
]

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_response(rows: Iterable[list[Any]], filename: str) -> StreamingHttpResponse:
    """Stream ``rows`` as a UTF-8 CSV attachment."""
    response = StreamingHttpResponse(csv_chunks(rows), content_type=CSV_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def xlsx_response(rows: Iterable[list[Any]], filename: str) -> FileResponse:
    """Write ``rows`` to a temporary XLSX workbook and stream it as an attachment."""
    return FileResponse(
        xlsx_file(rows), as_attachment=True, filename=filename, content_type=XLSX_TYPE
    )


def table_response(rows: Iterable[list[Any]], filename: str, fmt: str) -> Any:
    """Return ``rows`` as a CSV or XLSX download."""
    if fmt == "xlsx":
        return xlsx_response(rows, filename)
    return csv_response(rows, filename)


def uploaded_file_response(job: ImportJob) -> FileResponse:
    """Stream the job's uploaded file from storage under its original name."""
    name = job.file_name or os.path.basename(job.file.name)
    return FileResponse(open_stream(job.file.name), as_attachment=True, filename=name)


def error_report_response(job: ImportJob) -> Any:
    """Return the job's invalid rows, with an error column, in the uploaded file's format."""
    fmt = file_format(job.file_name or job.file.name)
    return table_response(error_report_rows(job), report_file_name(job, fmt), fmt)


def template_response(job_type: type[ImportJob], fmt: str = "csv") -> Any:
    """Return an empty file with the columns ``job_type`` expects."""
    fmt = "xlsx" if fmt == "xlsx" else "csv"
    filename = f"{job_type._meta.model_name}-template.{fmt}"
    return table_response([template_columns(job_type)], filename, fmt)
