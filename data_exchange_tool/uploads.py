"""
Uploads: the one check a file passes before it is stored as a job's file.

The admin's upload and re-run forms and the API's start and rerun requests all call
``check_upload``: a name of at most ``MAX_NAME_LENGTH`` characters with an extension a reader
takes, at most ``DATA_EXCHANGE_MAX_FILE_SIZE`` bytes, and, for formats that have one, the format's
signature in the first bytes (an ``.xls`` renamed ``.xlsx`` is refused here, not by its preview).
Everything else about the file is found by the preview, with a message on the job.
"""

from __future__ import annotations

import os
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import FileFormatError, UploadRefusedError
from data_exchange_tool.imports.readers import get_reader_class

#: The first bytes of formats that have a signature: a file without it cannot be read.
SIGNATURES: dict[str, bytes] = {".xlsx": b"PK\x03\x04", ".xlsm": b"PK\x03\x04"}
#: Longest accepted file name (the storage path adds about 80 characters).
MAX_NAME_LENGTH = 200


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


def _check_signature(name: str, upload: Any) -> None:
    signature = SIGNATURES.get(os.path.splitext(name)[1].lower())
    if signature is None:
        return
    upload.seek(0)
    head = upload.read(len(signature))
    upload.seek(0)
    if head != signature:
        raise UploadRefusedError(
            _(
                "The file is not a valid Excel workbook (.xlsx): save it again as an Excel "
                "workbook, or as CSV."
            ),
            "unreadable_file",
        )
