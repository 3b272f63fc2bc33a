"""
Downloads: the files a person takes away, as HTTP responses, for the admin and the API alike.

- the uploaded file, streamed from storage (never read whole);
- the error report (``imports.reports``): the invalid rows in the upload's columns and format, with
  an ``errors`` column, to fix and upload again;
- the template: the header row a job type expects;
- an export's file: a redirect to a short-lived S3 URL where S3 is used, else the file itself.

Tables are written by ``writers.stream_table`` as the response is sent.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.http import FileResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

from data_exchange_tool.imports.reports import (
    error_report_rows,
    file_format,
    report_file_name,
    template_columns,
)
from data_exchange_tool.storage import download_url, open_stream
from data_exchange_tool.writers import get_writer_class, stream_table

if TYPE_CHECKING:
    from data_exchange_tool.models import ExportJob, ImportJob

#: Seconds a download URL of S3 stays valid.
DOWNLOAD_URL_EXPIRY = 300


def table_response(rows: Iterable[list[Any]], filename: str, fmt: str) -> StreamingHttpResponse:
    """Stream ``rows`` (the header first) as a CSV (with a BOM, for Excel) or XLSX attachment."""
    writer_class = get_writer_class(fmt)
    response = StreamingHttpResponse(
        stream_table(rows, fmt, bom=fmt == "csv"), content_type=writer_class.content_type
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def uploaded_file_response(job: ImportJob) -> FileResponse:
    """Stream the job's uploaded file from storage under its original name."""
    stored = job.file.name or ""
    name = job.file_name or os.path.basename(stored)
    return FileResponse(open_stream(stored), as_attachment=True, filename=name)


def error_report_response(job: ImportJob, fmt: str | None = None, phase: str | None = None) -> Any:
    """Return the job's invalid rows with an error column, in ``fmt`` (default: the upload's)."""
    fmt = fmt or file_format(job.file_name or job.file.name or "")
    return table_response(error_report_rows(job, phase), report_file_name(job, fmt), fmt)


def template_response(job_type: type[ImportJob], fmt: str = "csv") -> Any:
    """Return an empty file with the columns ``job_type`` expects."""
    fmt = "xlsx" if fmt == "xlsx" else "csv"
    filename = f"{job_type._meta.model_name}-template.{fmt}"
    return table_response([template_columns(job_type)], filename, fmt)


def export_file_response(job: ExportJob) -> HttpResponseBase:
    """Return an export's file: a redirect to a short-lived S3 URL, or the file itself."""
    stored = job.file.name or ""
    url = download_url(stored, job.file_name, expire=DOWNLOAD_URL_EXPIRY)
    if url:
        return HttpResponseRedirect(url)
    return FileResponse(open_stream(stored), as_attachment=True, filename=job.file_name)
