"""
The files a job page offers: the uploaded file, the error report and the template.

- The uploaded file is streamed from storage (``storage.open_stream``), never read whole.
- The error report holds the invalid rows as they were in the file, in the file's own format (CSV
  or XLSX), with one more column that says what is wrong, so a person can fix the rows and upload
  the report again. Row errors are read a page of rows at a time; CSV is streamed as it is written,
  XLSX is written to a temporary file (a zip is only complete at its end) and streamed from there.
- The template is the header row a job type expects, built from its serializer.

Text cells are neutralised against spreadsheet formulas (``data_exchange_tool.formulas``).
"""

from __future__ import annotations

import csv
import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from data_exchange_tool.exceptions import DataExchangeError
from data_exchange_tool.formulas import neutralize
from data_exchange_tool.models import ImportJobRowError
from data_exchange_tool.readers import get_reader
from data_exchange_tool.storage import open_stream

if TYPE_CHECKING:
    from data_exchange_tool.models import ImportJob

#: Header of the column that says what is wrong with a row.
ERROR_COLUMN = "errors"
#: Rows of errors read per query when writing a report.
ROWS_PER_QUERY = 500
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_format(name: str) -> str:
    """Return ``"xlsx"`` for a workbook name, else ``"csv"``."""
    return "xlsx" if os.path.splitext(name)[1].lower() == ".xlsx" else "csv"


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
    """Return the header row of the job's file, or an empty list when it cannot be read."""
    try:
        with get_reader(job.file_name or job.file.name, open_stream(job.file.name)) as reader:
            return [h for h in reader.headers if h]
    except (DataExchangeError, OSError, ValueError):
        return []


def iter_error_rows(job: ImportJob) -> Iterator[tuple[int, list[ImportJobRowError]]]:
    """Yield ``(row_number, errors)`` for each invalid row, reading a page of rows at a time."""
    errors = ImportJobRowError.objects.filter(job_id=job.pk)
    last = 0
    while True:
        numbers = list(
            errors.filter(row_number__gt=last)
            .order_by("row_number")
            .values_list("row_number", flat=True)
            .distinct()[:ROWS_PER_QUERY]
        )
        if not numbers:
            return
        page = errors.filter(row_number__in=numbers).order_by("row_number", "id")
        for number, group in itertools.groupby(page, key=attrgetter("row_number")):
            yield number, list(group)
        last = numbers[-1]


def describe_errors(errors: Iterable[ImportJobRowError]) -> str:
    """Return one row's problems as ``"column: message; ..."``."""
    parts = (f"{e.column}: {e.message}" if e.column else e.message for e in errors)
    return "; ".join(dict.fromkeys(parts))


def error_report_rows(job: ImportJob) -> Iterator[list[Any]]:
    """Yield the report's header, then each invalid row's values and its errors."""
    headers = read_headers(job)
    rows = iter_error_rows(job)
    first = next(rows, None)
    if not headers and first is not None:
        headers = list(first[1][0].values)
    error_column = ERROR_COLUMN
    while error_column in headers:
        error_column += "_"
    yield [*headers, error_column]
    for _number, errors in itertools.chain([first] if first else [], rows):
        values = errors[0].values or {}
        yield [*(values.get(h, "") for h in headers), describe_errors(errors)]


class _Echo:
    """A pseudo-buffer for ``csv.writer``: ``write`` returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_response(rows: Iterable[list[Any]], filename: str) -> StreamingHttpResponse:
    """Stream ``rows`` as a UTF-8 CSV attachment (with a BOM, so spreadsheets read UTF-8)."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    lines = (writer.writerow([neutralize(cell) for cell in row]) for row in rows)
    response = StreamingHttpResponse(itertools.chain(["\ufeff"], lines), content_type=CSV_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def xlsx_response(rows: Iterable[list[Any]], filename: str) -> FileResponse:
    """Write ``rows`` to a temporary XLSX workbook and stream it as an attachment."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append([neutralize(cell) for cell in row])
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename, content_type=XLSX_TYPE)


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
    name = job.file_name or os.path.basename(job.file.name)
    fmt = file_format(name)
    filename = f"{os.path.splitext(name)[0]}-errors.{fmt}"
    return table_response(error_report_rows(job), filename, fmt)


def template_response(job_type: type[ImportJob], fmt: str = "csv") -> Any:
    """Return an empty file with the columns ``job_type`` expects."""
    fmt = "xlsx" if fmt == "xlsx" else "csv"
    filename = f"{job_type._meta.model_name}-template.{fmt}"
    return table_response([template_columns(job_type)], filename, fmt)
