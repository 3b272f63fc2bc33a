"""
What a file looks like from its first bytes: a workbook, an image, an archive, text.

People upload what they have under whatever name it has: a PNG named ``.csv``, an XLS renamed
``.xlsx``, an XLSX saved as ``.csv``. ``describe(head)`` names the known signatures in words
("a PNG image", "a ZIP archive (an XLSX workbook?)") and ``looks_binary(head)`` tells data that is
not text at all, so the upload check and the readers can say what the file seems to be instead of
showing its bytes as mangled text. Messages never embed the bytes themselves.
"""

from __future__ import annotations

import codecs

#: Leading bytes of formats people upload by mistake, and what to call them.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE2 compound file (an XLS workbook?)"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a GZIP archive"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"{\\rtf", "an RTF document"),
)
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
OLE2_SIGNATURE = SIGNATURES[1][0]
#: The first member of an OpenDocument zip is its uncompressed ``mimetype``.
ODS_MIMETYPE = b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"
BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)
#: Bytes that do not occur in text: C0 controls but NUL (see ``looks_binary``), tab, LF, FF,
#: CR, SUB (an old end-of-file mark) and ESC.
CONTROL_BYTES = bytes(set(range(1, 32)) - {9, 10, 12, 13, 26, 27})
#: Share of control bytes above which a file is binary (random bytes have about 9%).
CONTROL_SHARE = 0.05


def zip_kind(head: bytes) -> str:
    """Return what a zip archive holds, judged from its first member's name."""
    if ODS_MIMETYPE in head[:128]:
        return "an ODS workbook"
    if b"xl/" in head or b"[Content_Types].xml" in head:
        return "an XLSX workbook"
    return ""


def is_zip(head: bytes) -> bool:
    """Return True for a zip archive (XLSX, XLSM, XLSB, ODS)."""
    return head.startswith(ZIP_SIGNATURES)


def describe(head: bytes) -> str | None:
    """Return what a file starting with ``head`` is, in words, or None for none we know."""
    if is_zip(head):
        kind = zip_kind(head)
        return f"a ZIP archive ({kind}?)" if kind else "a ZIP archive"
    for signature, name in SIGNATURES:
        if head.startswith(signature):
            return name
    return None


def looks_binary(head: bytes) -> bool:
    """Return True when ``head`` is not text: a NUL in its first line, or many control bytes.

    Text with a UTF-16 or UTF-32 BOM is text. A NUL further down is one cell's problem,
    reported on its row by validation.
    """
    if head.startswith(BOMS):
        return False
    sample = head[:4096]
    if b"\x00" in sample.split(b"\n", 1)[0]:
        return True
    controls = sum(map(sample.count, CONTROL_BYTES))
    return controls > CONTROL_SHARE * len(sample)


def not_text(head: bytes) -> str | None:
    """Return what a file that should be text looks like instead, or None when it is text."""
    what = describe(head)
    if what is None and looks_binary(head):
        what = "binary data"
    return what
