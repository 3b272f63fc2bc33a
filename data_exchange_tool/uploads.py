"""
Uploads: the one check a file passes before it is stored as a job's file.

The admin's upload and re-run forms and the API's start and rerun requests all call
``check_upload``: a name of at most ``MAX_NAME_LENGTH`` characters with an extension a reader
takes, at most ``DATA_EXCHANGE_MAX_FILE_SIZE`` bytes, and first bytes that fit the extension: a
workbook's signature (zip for XLSX, XLSB and ODS, OLE2 for XLS: an ``.xls`` renamed ``.xlsx`` is
refused here, not by its preview), text for CSV and JSON ("This is not a CSV text file (it looks
like a PNG image)"). Everything else about the file is found by the preview, with a message on
the job. ``clean_encoding`` and ``clean_delimiter`` check what a person names on upload.
"""

from __future__ import annotations

import os
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import FileFormatError, UploadRefusedError
from data_exchange_tool.imports.readers import get_reader_class
from data_exchange_tool.imports.readers.delimiters import check_delimiter
from data_exchange_tool.imports.readers.encodings import check_encoding
from data_exchange_tool.imports.readers.signatures import (
    ODS_MIMETYPE,
    OLE2_SIGNATURE,
    describe,
    is_zip,
    not_text,
    zip_kind,
)

#: Longest accepted file name (the storage path adds about 80 characters).
MAX_NAME_LENGTH = 200
#: Bytes of the file's start the check looks at.
HEAD_BYTES = 4096
#: What each workbook extension must start with, and how to name that format to people.
WORKBOOKS: dict[str, tuple[str, str]] = {
    ".xlsx": ("zip", "Excel workbook (.xlsx)"),
    ".xlsm": ("zip", "Excel workbook (.xlsm)"),
    ".xlsb": ("zip", "Excel binary workbook (.xlsb)"),
    ".ods": ("ods", "OpenDocument spreadsheet (.ods)"),
    ".xls": ("ole2", "Excel 97-2003 workbook (.xls)"),
}
#: Text formats, by extension, and how to name them.
TEXT_FORMATS = {".json": "JSON", ".jsonl": "JSON Lines", ".ndjson": "JSON Lines"}


def check_upload(upload: Any) -> None:
    """Refuse what can never be read: raise ``UploadRefusedError`` with a message and a code."""
    name = os.path.basename(upload.name or "")
    if len(name) > MAX_NAME_LENGTH:
        raise UploadRefusedError(
            _("The file name is %(length)s characters long; the longest accepted is %(max)s.")
            % {"length": len(name), "max": MAX_NAME_LENGTH},
            "max_length",
        )
    try:
        get_reader_class(name)
    except FileFormatError as exc:
        raise UploadRefusedError(str(exc), "unsupported_format") from None
    limit = int(app_settings.MAX_FILE_SIZE)
    if upload.size > limit:
        raise UploadRefusedError(
            _("The file is %(size)s; the largest accepted is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            "file_too_large",
        )
    _check_signature(name, upload)


def _head(upload: Any) -> bytes:
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    return bytes(head)


def _check_signature(name: str, upload: Any) -> None:
    """Refuse a file whose first bytes are not its extension's format, saying what it is."""
    extension = os.path.splitext(name)[1].lower()
    head = _head(upload)
    if not head:
        return  # an empty file: its preview says so
    problem = workbook_problem(extension, head)
    if problem is None and extension not in WORKBOOKS:
        what = not_text(head)
        kind = TEXT_FORMATS.get(extension, "CSV")
        message = _("This is not a %(kind)s text file (it looks like %(what)s).")
        problem = message % {"kind": kind, "what": what} if what else None
    if problem:
        raise UploadRefusedError(problem, "unreadable_file")


def workbook_problem(extension: str, head: bytes) -> str | None:
    """Return why ``head`` cannot start a workbook named ``extension``, or None."""
    if extension not in WORKBOOKS:
        return None
    kind, label = WORKBOOKS[extension]
    if kind == "ole2":
        fits = head.startswith(OLE2_SIGNATURE)
    elif kind == "ods":
        fits = is_zip(head) and (ODS_MIMETYPE in head[:128] or not zip_kind(head))
    else:
        fits = is_zip(head) and zip_kind(head) != "an ODS workbook"
    if fits:
        return None
    what = describe(head) or ("text" if not not_text(head) else "binary data")
    return _(
        "The file is not a valid %(format)s: it looks like %(what)s. Save it again in that "
        "format, or as CSV."
    ) % {"format": label, "what": what}


def clean_encoding(name: str | None) -> str:
    """Return a text encoding named on upload as Python's codec name ("" for none), or raise
    ``UploadRefusedError``."""
    name = (name or "").strip()
    if not name:
        return ""
    try:
        return check_encoding(name)
    except LookupError:
        raise UploadRefusedError(
            _(
                "Unknown text encoding %(name)r: name one of Python's codecs, such as utf-8, "
                "cp1252, cp1250, cp1251, iso-8859-2, cp932 or utf-16."
            )
            % {"name": name[:40]},
            "invalid_encoding",
        ) from None


def clean_delimiter(name: str | None) -> str:
    """Return a CSV delimiter named on upload (``,`` ``;`` tab ``|``; "" for none), or raise
    ``UploadRefusedError``."""
    if not name or (name.strip() == "" and name != "\t"):
        return ""
    try:
        return check_delimiter(name)
    except ValueError as exc:
        raise UploadRefusedError(str(exc), "invalid_delimiter") from None
