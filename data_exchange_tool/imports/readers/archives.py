"""
Workbooks as files: a spooled local copy, and the checks a zip archive passes before it is read.

Spreadsheet formats need random access (a zip archive, an OLE2 compound file), so the reader first
copies the stored object to a temporary file of its own (``spool``), never kept between the preview
and the import. A zip archive (XLSX, ODS, XLSB) is then checked (``check_archive``): a corrupt
archive, or one whose members would inflate past the limits (a zip bomb), is refused with a clear
message before any part of it is parsed.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from typing import IO, Any

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.signatures import describe

#: Bytes copied at a time while spooling.
COPY_CHUNK = 1024 * 1024
#: Members larger than this are checked against the compression ratio limit.
RATIO_CHECKED_SIZE = 1024 * 1024


def spool(stream: IO[bytes], suffix: str) -> Any:
    """Copy ``stream`` into a new named temporary file (the caller closes it).

    :raises FileFormatError: the stream is empty.
    """
    spooled = tempfile.NamedTemporaryFile(suffix=suffix)  # noqa: SIM115 - the caller closes it
    shutil.copyfileobj(stream, spooled, COPY_CHUNK)
    spooled.flush()
    if spooled.tell() == 0:
        spooled.close()
        raise FileFormatError("The file is empty.")
    return spooled


def check_archive(path: str, format_name: str, required: str) -> zipfile.ZipFile:
    """Open a workbook's zip archive after checking it; return it (the caller closes it).

    :param format_name: the format, for messages ("XLSX").
    :param required: a member every such workbook has (``"xl/workbook.xml"``), matched ignoring
        case, as Excel matches part names.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        with open(path, "rb") as stream:
            what = describe(stream.read(128))
        detail = f"it looks like {what}" if what and not what.startswith("a ZIP") else ""
        raise FileFormatError(
            f"The file is not a valid {format_name} workbook ({detail or 'it may be corrupt'})."
        ) from exc
    try:
        _check_members(archive, format_name, required)
    except BaseException:
        archive.close()
        raise
    return archive


def _check_members(archive: zipfile.ZipFile, format_name: str, required: str) -> None:
    members = archive.infolist()
    names = {member.filename.lower() for member in members}
    if required.lower() not in names:
        raise FileFormatError(
            f"The file is not an {format_name} workbook (no {required} inside)."
            if format_name[0] in "AEIOUX"
            else f"The file is not a {format_name} workbook (no {required} inside)."
        )
    total = sum(member.file_size for member in members)
    if total > app_settings.MAX_XLSX_UNCOMPRESSED_SIZE:
        raise FileFormatError("The workbook is too large once uncompressed.")
    ratio_limit = app_settings.MAX_XLSX_COMPRESSION_RATIO
    for member in members:
        if member.file_size > RATIO_CHECKED_SIZE and member.file_size > ratio_limit * max(
            member.compress_size, 1
        ):
            raise FileFormatError(
                "The workbook is compressed suspiciously well (a zip bomb?) and was refused."
            )


def member_name(archive: zipfile.ZipFile, name: str) -> str | None:
    """Return the archive's own spelling of ``name``, matched ignoring case, or None."""
    wanted = name.lower().lstrip("/")
    for info in archive.infolist():
        if info.filename.lower() == wanted:
            return info.filename
    return None
