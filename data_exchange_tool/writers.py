"""
File writers: rows in, a CSV or XLSX file out, for exports, error reports and templates alike.

A writer turns rows (lists of values) into bytes and hands them to a *sink*, which puts them
where they go without holding the file in memory:

- ``S3MultipartSink``: for django-storages' ``S3Storage``, a multipart upload whose parts are sent
  as they fill (8 MiB each), so neither memory nor local disk grows with the file;
- ``TempFileSink``: for any other storage, a temporary file saved to the storage at the end;
- ``BufferSink``: bytes handed on as they come, for a download streamed to the browser
  (``stream_table``).

CSV is UTF-8, comma-delimited (optionally with a BOM and ``;``, as European Excel expects). An
XLSX workbook is written here as a zip archive streamed into the sink, its rows' XML made as they
come (``XLSXWriter``); its cells are typed by column (``Kind``): numbers as numbers with their
decimals as the format, dates as dates, text always as text. Text that a
spreadsheet would run as a formula is neutralised (``formulas.neutralize``) unless
``DATA_EXCHANGE_NEUTRALIZE_FORMULAS`` is False.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from django.core.files import File

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import ConfigurationError, ExportLimitError
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


class Kind:
    """What a column holds, so an XLSX cell gets the right type: ``Kind("decimal", 2)``."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    DATE = "date"
    BOOLEAN = "boolean"

    def __init__(self, name: str = TEXT, decimal_places: int | None = None) -> None:
        self.name = name
        self.decimal_places = decimal_places

    def __repr__(self) -> str:
        return f"Kind({self.name!r}, {self.decimal_places!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Kind) and (self.name, self.decimal_places) == (
            other.name,
            other.decimal_places,
        )

    __hash__ = None  # type: ignore[assignment]


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
        delimiter: str = ",",
        kinds: Sequence[Kind] | None = None,
    ) -> None:
        """
        :param bom: start a CSV file with a BOM (Excel then reads it as UTF-8).
        :param delimiter: the CSV delimiter (``;`` for European Excel).
        :param kinds: what each column holds, for typed XLSX cells; None: the values' own types.
        """
        self.sink = sink
        self.headers = list(headers)
        self.neutralize = app_settings.NEUTRALIZE_FORMULAS if neutralize is None else neutralize
        self.bom = bom
        self.delimiter = delimiter or ","
        self.kinds = list(kinds) if kinds is not None else [Kind()] * len(self.headers)

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Write rows of rendered values."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush everything to the sink (the sink is committed by the caller)."""
        raise NotImplementedError

    def abort(self) -> None:
        """Release what the writer holds after a failure. Does nothing by default."""


class CSVWriter(BaseWriter):
    """Write UTF-8 CSV (comma or the delimiter asked for, CRLF, minimal quoting), with a BOM
    when asked."""

    format_name = "csv"
    extension = ".csv"
    content_type = "text/csv; charset=utf-8"

    def __init__(self, sink: BaseSink, headers: Sequence[str], **kwargs: Any) -> None:
        super().__init__(sink, headers, **kwargs)
        buffered = io.BufferedWriter(_SinkStream(sink), buffer_size=1024 * 1024)
        if self.bom:
            buffered.write(codecs.BOM_UTF8)
        self.text = io.TextIOWrapper(buffered, encoding="utf-8", newline="", write_through=False)
        self.csv = csv.writer(self.text, delimiter=self.delimiter, lineterminator="\r\n")
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

    def abort(self) -> None:
        # Close the buffers now, while the sink is open: left to the garbage collector, they
        # would flush into the sink after it was aborted (a write to a closed file).
        with contextlib.suppress(Exception):  # releasing what a failed export holds
            self.text.close()


#: Characters an XLSX file cannot hold (C0 controls but tab, line feed and carriage return).
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Text that needs more than writing as it is: XML's specials, a carriage return (a parser would
#: read it as a line feed), controls, and text that looks like OOXML's own ``_xHHHH_`` escape.
NEEDS_ESCAPING = re.compile(r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
_OOXML_ESCAPE = re.compile(r"(_x[0-9A-Fa-f]{4}_)")
#: A plain decimal, as DRF's ``DecimalField`` renders one.
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
#: Digits a spreadsheet number keeps exactly; longer numbers are written as text.
EXACT_DIGITS = 15
#: Rows and characters an XLSX sheet and cell hold at most (Excel's limits).
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CELL = 32_767
#: Day 0 of Excel's serial dates, and the first day its serials count right (1900 was no leap
#: year, but Excel has a 29 February 1900).
EXCEL_EPOCH = datetime.date(1899, 12, 30)
EXCEL_FIRST_DAY = datetime.date(1900, 3, 1)

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
XLSX_PARTS = {
    "[Content_Types].xml": f'{_XML}<Types xmlns="{_PACKAGE}/content-types"><Default '
    'Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/><Override '
    f'PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/><Override '
    f'PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/><Override '
    f'PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/></Types>',
    "_rels/.rels": f'{_XML}<Relationships xmlns="{_PACKAGE}/relationships"><Relationship '
    f'Id="rId1" Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><bookViews>'
    '<workbookView/></bookViews><sheets><sheet name="Export" sheetId="1" r:id="rId1"/></sheets>'
    "</workbook>",
    "xl/_rels/workbook.xml.rels": f'{_XML}<Relationships xmlns="{_PACKAGE}/relationships">'
    f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_RELS}/styles" Target="styles.xml"/></Relationships>',
}


def column_name(index: int) -> str:
    """Return the letters of a 0-based column index: 0 -> ``A``, 26 -> ``AA``."""
    name, number = "", index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        name = chr(65 + rest) + name
    return name


def xml_text(text: str) -> str:
    """Return text as the content of an XLSX ``<t>`` element (escaped, controls dropped)."""
    if ILLEGAL_CHARACTERS.search(text):
        text = ILLEGAL_CHARACTERS.sub("", text)
    text = _OOXML_ESCAPE.sub(r"_x005F\1", text)  # literal "_x000D_" is not an escape
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "_x000D_")


class Styles:
    """The cell styles an export needs: General, a ``0.00``-like format per decimal places, and
    ``yyyy-mm-dd``; ``xml`` is the styles part."""

    def __init__(self, kinds: Sequence[Kind]) -> None:
        places = sorted(
            {k.decimal_places for k in kinds if k.name == Kind.DECIMAL and k.decimal_places}
        )
        self.codes = ["0." + "0" * count for count in places] + ["yyyy-mm-dd"]
        #: ``{decimal places: style index}`` (0 is General, for whole numbers too).
        self.decimal = {count: index + 1 for index, count in enumerate(places)}
        self.date = len(self.codes)

    def xml(self) -> str:
        """Return ``xl/styles.xml``."""
        formats = "".join(
            f'<numFmt numFmtId="{164 + i}" formatCode="{code}"/>'
            for i, code in enumerate(self.codes)
        )
        xfs = "".join(
            f'<xf numFmtId="{164 + i}" fontId="0" fillId="0" borderId="0" xfId="0" '
            'applyNumberFormat="1"/>'
            for i in range(len(self.codes))
        )
        return (
            f'{_XML}<styleSheet xmlns="{_MAIN}"><numFmts count="{len(self.codes)}">{formats}'
            '</numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/>'
            '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
            '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/>'
            '<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf '
            'numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs '
            f'count="{len(self.codes) + 1}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
            f'xfId="0"/>{xfs}</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
            'builtinId="0"/></cellStyles></styleSheet>'
        )


class XLSXWriter(BaseWriter):
    """Write one sheet of an XLSX workbook as a stream, typed by column.

    The workbook is written here, part by part, into a zip archive streamed into the sink: the
    rows' XML is made with string formatting, about five times as fast as xlsxwriter's
    constant-memory mode and ten times openpyxl's write-only mode, with the same flat memory (no
    temporary file either). Numbers are number cells (a decimal with its places as the format,
    ``0.00``, so it reads back as written), dates are date cells (``yyyy-mm-dd``), booleans are
    booleans, and text is always an inline text cell (never a formula, a number or a link),
    neutralised against formulas as in CSV. Numbers of more than 15 digits, which a spreadsheet
    would round, dates before March 1900 and date-times (a cell has no time zone) stay text, so
    the round trip export -> import is exact. Characters XML cannot hold (C0 controls but tab
    and line breaks) are dropped.
    """

    format_name = "xlsx"
    extension = ".xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, sink: BaseSink, headers: Sequence[str], **kwargs: Any) -> None:
        super().__init__(sink, headers, **kwargs)
        self.styles = Styles(self.kinds)
        self.archive = zipfile.ZipFile(
            _SinkStream(sink), "w", zipfile.ZIP_DEFLATED, compresslevel=6
        )
        for name, text in XLSX_PARTS.items():
            self.archive.writestr(name, text)
        self.archive.writestr("xl/styles.xml", self.styles.xml())
        self.sheet = io.BufferedWriter(
            self.archive.open("xl/worksheets/sheet1.xml", "w"), buffer_size=256 * 1024
        )
        self.sheet.write(f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
        self.letters = [column_name(index) for index in range(max(len(self.headers), 1))]
        self.row = 0
        self.cell_writers = [self.cell_writer(kind) for kind in self.kinds]
        self.sheet.write(self.row_xml(1, list(self.headers), [self.value_cell] * len(self.headers)))

    # --- cells -------------------------------------------------------------------------------

    def text_cell(self, ref: str, text: str) -> str:
        """Return an inline text cell (always text, whatever it looks like)."""
        if len(text) > XLSX_MAX_CELL:
            raise ExportLimitError(
                f"Cell {ref} holds {len(text):,} characters; an XLSX cell holds at most "
                f"{XLSX_MAX_CELL:,}: export as CSV."
            )
        if NEEDS_ESCAPING.search(text):
            text = xml_text(text)
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'

    def value_cell(self, ref: str, value: Any) -> str:
        """Return a cell for a value by its own type: text, number, boolean or date."""
        value = text_cell(value, self.neutralize)
        if value.__class__ is str:
            return self.text_cell(ref, value)
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | float | Decimal) and exact(value):
            return f'<c r="{ref}"><v>{number_xml(value)}</v></c>'
        day = as_date(value)
        if day is not None and day >= EXCEL_FIRST_DAY:
            return f'<c r="{ref}" s="{self.styles.date}"><v>{(day - EXCEL_EPOCH).days}</v></c>'
        if isinstance(value, datetime.date | datetime.time):
            return self.text_cell(ref, value.isoformat())
        return self.text_cell(ref, str(value))

    def cell_writer(self, kind: Kind) -> Callable[[str, Any], str]:
        """Return the function that makes one cell of a column of ``kind``."""
        value_cell = self.value_cell
        if kind.name == Kind.DECIMAL:
            style = self.styles.decimal.get(kind.decimal_places or 0, 0)
            attribute = f' s="{style}"' if style else ""

            def decimal_cell(ref: str, value: Any) -> str:
                number = decimal_text(value)
                if number is None:
                    return value_cell(ref, value)
                return f'<c r="{ref}"{attribute}><v>{number}</v></c>'

            return decimal_cell
        if kind.name == Kind.DATE:
            date_style = self.styles.date

            def date_cell(ref: str, value: Any) -> str:
                day = as_date(value)
                if day is None or day < EXCEL_FIRST_DAY:
                    return value_cell(ref, value)
                return f'<c r="{ref}" s="{date_style}"><v>{(day - EXCEL_EPOCH).days}</v></c>'

            return date_cell
        if kind.name == Kind.TEXT:
            text = self.text_cell
            neutralize = self.neutralize

            def text_or_value(ref: str, value: Any) -> str:
                if value.__class__ is str and not (neutralize and value[:1] in FORMULA_START):
                    return text(ref, value)
                return value_cell(ref, value)

            return text_or_value
        return value_cell

    # --- rows --------------------------------------------------------------------------------

    def row_xml(self, number: int, values: Sequence[Any], writers: Sequence[Any]) -> bytes:
        """Return one ``<row>`` as UTF-8."""
        letters = self.letters
        if len(values) > len(letters):
            letters.extend(column_name(i) for i in range(len(letters), len(values)))
        suffix = str(number)
        cells = "".join(
            [
                writers[col](letters[col] + suffix, value)
                for col, value in enumerate(values)
                if value is not None and value != ""
            ]
        )
        return f'<row r="{number}">{cells}</row>'.encode()

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        writers, letters, row = self.cell_writers, self.letters, self.row
        if len(writers) < len(letters):
            writers.extend([self.value_cell] * (len(letters) - len(writers)))
        chunk: list[bytes] = []
        for values in rows:
            row += 1
            if row >= XLSX_MAX_ROWS:
                raise ExportLimitError(
                    f"An XLSX sheet holds at most {XLSX_MAX_ROWS:,} rows: export as CSV."
                )
            if len(values) > len(writers):
                writers.extend([self.value_cell] * (len(values) - len(writers)))
            chunk.append(self.row_xml(row + 1, values, writers))
        self.row = row
        self.sheet.write(b"".join(chunk))

    def close(self) -> None:
        self.sheet.write(b"</sheetData></worksheet>")
        self.sheet.close()
        self.archive.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # releasing what a failed export holds
            self.sheet.close()
            self.archive.close()


def exact(number: int | float | Decimal) -> bool:
    """Return True when a spreadsheet keeps ``number`` exactly (at most 15 digits, finite)."""
    if isinstance(number, int):
        return -(10**EXACT_DIGITS) < number < 10**EXACT_DIGITS
    if isinstance(number, float):
        return number == number and abs(number) != float("inf")
    return number.is_finite() and len(number.as_tuple().digits) <= EXACT_DIGITS


def number_xml(number: int | float | Decimal) -> str:
    """Return a number as the text of a ``<v>`` element."""
    if isinstance(number, float):
        return repr(number)
    return str(number) if isinstance(number, int) else format(number, "f")


def as_date(value: Any) -> datetime.date | None:
    """Return a rendered date (ISO text, or a date) as a date, or None."""
    if value.__class__ is str:
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    return None


def decimal_text(value: Any) -> str | None:
    """Return a rendered decimal as the text of a number cell a spreadsheet keeps exactly, or
    None (the value is then written by its own type, text for text)."""
    if value.__class__ is str:
        if not PLAIN_DECIMAL.fullmatch(value):
            return None
        digits = len(value) - ("." in value) - (value[0] == "-")
        return value if digits <= EXACT_DIGITS else None
    if isinstance(value, Decimal | int) and not isinstance(value, bool) and exact(value):
        return number_xml(value)
    return None


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
    rows: Iterable[Sequence[Any]],
    file_format: str,
    *,
    bom: bool = False,
    delimiter: str = ",",
    neutralize: bool | None = None,
    chunk: int = 1000,
) -> Iterator[bytes]:
    """Yield a table as a file of ``file_format``, a chunk at a time: its first row is the header.

    CSV bytes come as rows are written; an XLSX workbook (a zip, complete only at its end) comes
    once written, from the writer's temporary file.
    """
    rows = iter(rows)
    sink = BufferSink()
    writer = get_writer_class(file_format)(
        sink, next(rows, []), bom=bom, delimiter=delimiter, neutralize=neutralize
    )
    for batch in batched(rows, chunk):
        writer.write_rows(batch)
        if data := sink.take():
            yield data
    writer.close()
    yield sink.take()
