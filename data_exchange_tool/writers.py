"""
File writers: rows in, a CSV or XLSX file out, for exports, error reports and templates alike.

A writer turns rows (lists of values) into bytes and hands them to a *sink*, which puts them
where they go without holding the file in memory:

- ``S3MultipartSink``: for django-storages' ``S3Storage``, a multipart upload whose parts are sent
  as they fill (8 MiB each), so neither memory nor local disk grows with the file;
- ``TempFileSink``: for any other storage, a temporary file saved to the storage at the end;
- ``BufferSink``: bytes handed on as they come, for a download streamed to the browser
  (``stream_table``).

CSV is UTF-8 (optionally with a BOM, for Excel). XLSX goes through openpyxl's write-only workbook,
which keeps rows in a temporary file of its own; the finished workbook is then copied into the sink.
Text that a spreadsheet would run as a formula is neutralised (``formulas.neutralize``) unless
``DATA_EXCHANGE_NEUTRALIZE_FORMULAS`` is False; in XLSX a text cell is always written as text.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

from django.core.files import File

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import ConfigurationError
from data_exchange_tool.formulas import is_formula_like
from data_exchange_tool.storage import is_s3_storage
from data_exchange_tool.utils import batched

#: Bytes per part of an S3 multipart upload (S3's minimum is 5 MiB, except for the last part).
PART_SIZE = 8 * 1024 * 1024
#: First characters of the text cells checked for formulas (anything else is left alone).
FORMULA_START = frozenset("=+-@\t\r'")


# --- sinks ---------------------------------------------------------------------------------


class BaseSink:
    """Where a writer's bytes go; ``commit()`` returns the stored name, ``abort()`` drops it."""

    def __init__(self, storage: Any, name: str, content_type: str) -> None:
        self.storage = storage
        self.name = name
        self.content_type = content_type
        self.size = 0

    def write(self, data: bytes) -> None:
        """Add bytes to the end of the file."""
        raise NotImplementedError

    def commit(self) -> str:
        """Finish the file in the storage and return its name there."""
        raise NotImplementedError

    def abort(self) -> None:
        """Drop whatever was written. Does nothing by default."""


class TempFileSink(BaseSink):
    """Write to a temporary file, then save it to the storage (any Django storage)."""

    def __init__(self, storage: Any, name: str, content_type: str) -> None:
        super().__init__(storage, name, content_type)
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by commit() or abort()

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.size += len(data)

    def commit(self) -> str:
        self.file.seek(0)
        try:
            return self.storage.save(self.name, File(self.file, name=os.path.basename(self.name)))
        finally:
            self.file.close()

    def abort(self) -> None:
        self.file.close()


class S3MultipartSink(BaseSink):
    """Stream to an S3 object as a multipart upload (django-storages' ``S3Storage``)."""

    def __init__(self, storage: Any, name: str, content_type: str) -> None:
        super().__init__(storage, name, content_type)
        from storages.utils import clean_name

        self.name = clean_name(name)
        self.key = storage._normalize_name(self.name)
        self.client = storage.bucket.meta.client
        self.bucket = storage.bucket.name
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def _params(self) -> dict[str, Any]:
        params = dict(self.storage.get_object_parameters(self.name))
        params.setdefault("ContentType", self.content_type)
        return params

    def write(self, data: bytes) -> None:
        self.buffer += data
        self.size += len(data)
        if len(self.buffer) >= PART_SIZE:
            self._send_part()

    def _send_part(self) -> None:
        if self.upload_id is None:
            created = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, **self._params()
            )
            self.upload_id = created["UploadId"]
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=bytes(self.buffer),
        )
        self.parts.append({"ETag": answer["ETag"], "PartNumber": number})
        self.buffer.clear()

    def commit(self) -> str:
        if self.upload_id is None:
            self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer), **self._params()
            )
        else:
            if self.buffer:
                self._send_part()
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            )
        self.buffer = bytearray()
        return self.name

    def abort(self) -> None:
        self.buffer = bytearray()
        if self.upload_id is not None:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )
            self.upload_id = None


class BufferSink(BaseSink):
    """Keep written bytes until ``take()`` hands them on (a streamed HTTP response)."""

    def __init__(self, content_type: str = "") -> None:
        super().__init__(None, "", content_type)
        self.buffer = bytearray()

    def write(self, data: bytes) -> None:
        self.buffer += data
        self.size += len(data)

    def take(self) -> bytes:
        """Return the bytes written since the last call."""
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    def commit(self) -> str:
        return ""


def open_sink(storage: Any, name: str, content_type: str) -> BaseSink:
    """Return the sink that writes ``name`` into ``storage`` as a stream."""
    sink_class = S3MultipartSink if is_s3_storage(storage) else TempFileSink
    return sink_class(storage, name, content_type)


class _SinkStream(io.RawIOBase):
    """A raw binary stream that hands every write to a sink."""

    def __init__(self, sink: BaseSink) -> None:
        super().__init__()
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sink.write(bytes(data))
        return len(data)


# --- writers -------------------------------------------------------------------------------


def neutralized(text: str) -> str:
    """Return text prefixed with a quote when a spreadsheet would run it as a formula."""
    return "'" + text if is_formula_like(text) else text


def text_cell(value: Any, neutralize: bool) -> Any:
    """Return a rendered value as a cell: text neutralised, containers as JSON, None as blank."""
    if value.__class__ is str:
        return neutralized(value) if neutralize and value[:1] in FORMULA_START else value
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return text_cell(json.dumps(value, ensure_ascii=False, default=str), neutralize)
    if isinstance(value, str):
        return text_cell(str(value), neutralize)
    return value


class BaseWriter:
    """Write a header and rows into a sink; subclasses set the format's details."""

    #: The ``file_format`` name of the writer.
    format_name: ClassVar[str] = ""
    #: The file extension, with the dot.
    extension: ClassVar[str] = ""
    #: The MIME type of the file.
    content_type: ClassVar[str] = "application/octet-stream"

    def __init__(
        self,
        sink: BaseSink,
        headers: Sequence[str],
        *,
        neutralize: bool | None = None,
        bom: bool = False,
    ) -> None:
        self.sink = sink
        self.headers = list(headers)
        self.neutralize = app_settings.NEUTRALIZE_FORMULAS if neutralize is None else neutralize
        self.bom = bom

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Write rows of rendered values."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush everything to the sink (the sink is committed by the caller)."""
        raise NotImplementedError

    def abort(self) -> None:
        """Release what the writer holds after a failure. Does nothing by default."""


class CSVWriter(BaseWriter):
    """Write UTF-8 CSV (comma, CRLF, minimal quoting), with a BOM when asked."""

    format_name = "csv"
    extension = ".csv"
    content_type = "text/csv; charset=utf-8"

    def __init__(self, sink: BaseSink, headers: Sequence[str], **kwargs: Any) -> None:
        super().__init__(sink, headers, **kwargs)
        buffered = io.BufferedWriter(_SinkStream(sink), buffer_size=1024 * 1024)
        if self.bom:
            buffered.write(codecs.BOM_UTF8)
        self.text = io.TextIOWrapper(buffered, encoding="utf-8", newline="", write_through=False)
        self.csv = csv.writer(self.text, lineterminator="\r\n")
        self.csv.writerow([text_cell(h, self.neutralize) for h in self.headers])

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        # Inlined for speed: only text whose first character could start a formula is checked;
        # None is written blank by the csv module, containers were made JSON by the renderer.
        if self.neutralize:
            start = FORMULA_START
            rows = (
                [neutralized(v) if v.__class__ is str and v[:1] in start else v for v in row]
                for row in rows
            )
        self.csv.writerows(rows)

    def close(self) -> None:
        self.text.flush()
        self.text.detach().flush()


class XLSXWriter(BaseWriter):
    """Write one sheet with openpyxl's write-only workbook; text cells are always text."""

    format_name = "xlsx"
    extension = ".xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, sink: BaseSink, headers: Sequence[str], **kwargs: Any) -> None:
        super().__init__(sink, headers, **kwargs)
        from openpyxl import Workbook

        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet("Export")
        self.sheet.append([self.cell(h) for h in self.headers])

    def cell(self, value: Any) -> Any:
        """Return a value as an openpyxl cell value (text starting with ``=`` stays text)."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        value = text_cell(value, self.neutralize)
        if value.__class__ is not str:
            return value
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        append, cell = self.sheet.append, self.cell
        for row in rows:
            append([cell(v) for v in row])

    def close(self) -> None:
        with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as spool:
            path = spool.name
        try:
            self.workbook.save(path)
            with open(path, "rb") as saved:
                shutil.copyfileobj(saved, _SinkStream(self.sink), 1024 * 1024)  # type: ignore[misc]
        finally:
            os.unlink(path)


WRITERS: dict[str, type[BaseWriter]] = {"csv": CSVWriter, "xlsx": XLSXWriter}


def get_writer_class(file_format: str) -> type[BaseWriter]:
    """Return the writer for ``"csv"`` or ``"xlsx"``."""
    try:
        return WRITERS[file_format]
    except KeyError:
        raise ConfigurationError(
            f"No writer for format {file_format!r}: use {', '.join(WRITERS)}."
        ) from None


def stream_table(
    rows: Iterable[Sequence[Any]], file_format: str, *, bom: bool = False, chunk: int = 1000
) -> Iterator[bytes]:
    """Yield a table as a file of ``file_format``, a chunk at a time: its first row is the header.

    CSV bytes come as rows are written; an XLSX workbook (a zip, complete only at its end) comes
    once written, from the writer's temporary file.
    """
    rows = iter(rows)
    sink = BufferSink()
    writer = get_writer_class(file_format)(sink, next(rows, []), bom=bom)
    for batch in batched(rows, chunk):
        writer.write_rows(batch)
        if data := sink.take():
            yield data
    writer.close()
    yield sink.take()
