"""
The parts of an XLSX workbook that come before its first sheet: where the parts are, the cell
styles' number formats, and the shared strings table.

Parts are found through the relationships, as Excel finds them, matching names ignoring case.
XML is parsed with expat with DTDs refused (OOXML never declares one), so no entity can be
declared (billion laughs, external entities). The shared strings table is held as ``str`` up to
``KEEP_IN_MEMORY`` strings; the rest goes to a temporary file and is read back with ``os.pread``
(the page cache, not this process's memory): Excel numbers strings by first appearance, so the
ones that repeat (categories, partners) stay in memory, and a sheet of a million distinct names
costs no memory per string (where each spilled string ends waits in a second temporary file).
"""

from __future__ import annotations

import array
import functools
import os
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO
from xml.parsers import expat

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.archives import member_name
from data_exchange_tool.imports.readers.cellformat import Formatter, builtin_code, formatter_for

#: Bytes of XML parsed at a time.
CHUNK = 64 * 1024
#: Shared strings kept in memory; the rest is spilled to a temporary file.
KEEP_IN_MEMORY = 65_536
#: Spilled strings gathered before they are written.
PENDING_STRINGS = 4096
#: Spilled strings whose offsets are read back together, and the blocks of them kept.
INDEX_BLOCK = 128
INDEX_BLOCKS_CACHED = 64
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")

StartHandler = Callable[[str, dict[str, str]], None]
EndHandler = Callable[[str], None]


def corrupt(detail: str = "") -> FileFormatError:
    """Return the error of a workbook whose parts cannot be read."""
    more = f": {detail}" if detail else ""
    return FileFormatError(f"The XLSX workbook cannot be read (it may be corrupt){more}.")


def unescape(text: str) -> str:
    """Decode OOXML's ``_xHHHH_`` escapes (``_x000D_`` is a carriage return)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def local(name: str) -> str:
    """Return a tag or attribute name without its namespace prefix."""
    return name.rsplit(":", 1)[-1]


def _refuse_doctype(*args: object) -> None:
    raise corrupt("its XML declares a DTD, which XLSX files never do")


def make_parser(
    start: StartHandler, end: EndHandler | None = None, chars: Callable[[str], None] | None = None
) -> expat.XMLParserType:
    """Return an expat parser (no namespace processing, no DTD) calling the handlers."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if chars is not None:
        parser.CharacterDataHandler = chars
    return parser


def parse_stream(parser: expat.XMLParserType, stream: IO[bytes], head: bytes = b"") -> None:
    """Feed ``head`` and then the rest of ``stream`` to ``parser``, in chunks."""
    try:
        chunk = head or stream.read(CHUNK)
        while chunk:
            parser.Parse(chunk, False)
            chunk = stream.read(CHUNK)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise corrupt(f"damaged XML ({exc})") from exc


def parse_member(archive: zipfile.ZipFile, name: str, start: StartHandler) -> None:
    """Parse a (small) part with only a start-element handler."""
    with archive.open(name) as stream:
        parse_stream(make_parser(start), stream)


# --- where the parts are ---------------------------------------------------------------------


@dataclass
class Parts:
    """The first worksheet's part, the strings and styles parts, and the date system."""

    sheet: str
    shared_strings: str | None
    styles: str | None
    date1904: bool


def relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Return ``{id: (type, target path)}`` of a part's relationships."""
    folder, name = posixpath.split(part)
    rels = member_name(archive, posixpath.join(folder, "_rels", name + ".rels"))
    found: dict[str, tuple[str, str]] = {}
    if rels is None:
        return found

    def start(tag: str, attrs: dict[str, str]) -> None:
        if local(tag) != "Relationship" or attrs.get("TargetMode") == "External":
            return
        target = attrs.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found[attrs.get("Id", "")] = (attrs.get("Type", ""), posixpath.normpath(path))

    parse_member(archive, rels, start)
    return found


def find_parts(archive: zipfile.ZipFile) -> Parts:
    """Read the workbook and its relationships: the first worksheet, strings, styles."""
    workbook = member_name(archive, "xl/workbook.xml")
    if workbook is None:
        raise FileFormatError("The file is not an XLSX workbook (no xl/workbook.xml inside).")
    date1904 = False
    sheet_ids: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal date1904
        name = local(tag)
        if name == "workbookPr":
            date1904 = attrs.get("date1904", "false").lower() in ("1", "true")
        elif name == "sheet":
            ids = [v for k, v in attrs.items() if local(k) == "id"]
            sheet_ids.append(ids[0] if ids else "")

    parse_member(archive, workbook, start)
    rels = relationships(archive, workbook)
    sheets = [rels[i][1] for i in sheet_ids if i in rels and rels[i][0].endswith("/worksheet")]
    if not sheets:
        raise corrupt("it has no worksheet")
    sheet = member_name(archive, sheets[0])
    if sheet is None:
        raise corrupt("its first worksheet is missing")
    by_type = {kind.rsplit("/", 1)[-1]: path for kind, path in rels.values()}
    return Parts(
        sheet=sheet,
        shared_strings=member_name(archive, by_type.get("sharedStrings", "xl/sharedStrings.xml")),
        styles=member_name(archive, by_type.get("styles", "xl/styles.xml")),
        date1904=date1904,
    )


# --- styles ----------------------------------------------------------------------------------


def style_formatters(archive: zipfile.ZipFile, parts: Parts) -> dict[str, Formatter]:
    """Return ``{style index: formatter}`` of the cell styles whose format is not General."""
    if parts.styles is None:
        return {}
    custom: dict[int, str] = {}
    formats: list[int] = []
    depth = {"cellXfs": False}

    def start(tag: str, attrs: dict[str, str]) -> None:
        name = local(tag)
        if name == "numFmt":
            custom[_int(attrs.get("numFmtId"))] = attrs.get("formatCode", "General")
        elif name == "cellXfs":
            depth["cellXfs"] = True
        elif name == "xf" and depth["cellXfs"]:
            formats.append(_int(attrs.get("numFmtId")))

    def end(tag: str) -> None:
        if local(tag) == "cellXfs":
            depth["cellXfs"] = False

    with archive.open(parts.styles) as stream:
        parse_stream(make_parser(start, end), stream)
    found = {}
    for index, format_id in enumerate(formats):
        code = custom.get(format_id) or builtin_code(format_id)
        formatter = formatter_for(code, parts.date1904, format_id)
        if formatter is not None:
            found[str(index)] = formatter
    return found


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


# --- shared strings --------------------------------------------------------------------------


class SharedStrings:
    """The shared strings table: the first strings in memory, the rest in a temporary file.

    The spilled strings' offsets wait on disk too (``index``: where each one ends, 8 bytes
    apiece), read back ``INDEX_BLOCK`` at a time with the last ``INDEX_BLOCKS_CACHED`` blocks
    kept: memory does not grow with the table, and strings asked for in order (as Excel numbers
    them) cost one read of the index per block.
    """

    def __init__(self, keep: int = KEEP_IN_MEMORY) -> None:
        self.head: list[str] = []
        self.keep = keep
        self.file: IO[bytes] | None = None
        self.index: IO[bytes] | None = None
        #: Strings spilled, and the bytes they take in ``file``.
        self.count = 0
        self.size = 0
        self.pending: list[bytes] = []
        self.pending_ends = array.array("Q", [0])  # the first spilled string starts at 0

    def append(self, text: str) -> None:
        """Add the next string of the table."""
        if len(self.head) < self.keep:
            self.head.append(text)
            return
        if self.file is None:
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
            self.index = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        data = text.encode("utf-8")
        self.pending.append(data)
        self.size += len(data)
        self.pending_ends.append(self.size)
        self.count += 1
        if len(self.pending) >= PENDING_STRINGS:
            self.flush()

    def flush(self) -> None:
        """Write the strings (and their ends) not written yet."""
        if self.file is not None and self.index is not None and self.pending:
            self.file.write(b"".join(self.pending))
            self.file.flush()
            self.index.write(self.pending_ends.tobytes())
            self.index.flush()
            self.pending.clear()
            self.pending_ends = array.array("Q")

    def __len__(self) -> int:
        return len(self.head) + self.count

    def getter(self) -> Callable[[int], str]:
        """Return ``index -> text`` (raises ``IndexError`` for an index not in the table)."""
        self.flush()
        head = self.head
        if self.file is None or self.index is None:
            return head.__getitem__
        kept, count, fd, pread = len(head), self.count, self.file.fileno(), os.pread
        index_fd, width = self.index.fileno(), self.pending_ends.itemsize

        @functools.lru_cache(maxsize=INDEX_BLOCKS_CACHED)
        def ends_of(block: int) -> array.array[int]:
            # INDEX_BLOCK strings: their starts, and the end of the last one.
            ends = array.array("Q")
            ends.frombytes(pread(index_fd, (INDEX_BLOCK + 1) * width, block * INDEX_BLOCK * width))
            return ends

        def get(index: int) -> str:
            if index < kept:
                return head[index]
            spilled = index - kept
            if spilled >= count:
                raise IndexError(index)
            ends = ends_of(spilled // INDEX_BLOCK)
            at = spilled % INDEX_BLOCK
            start = ends[at]
            return pread(fd, ends[at + 1] - start, start).decode("utf-8")

        return get

    def close(self) -> None:
        """Drop the temporary files."""
        for name in ("file", "index"):
            part = getattr(self, name)
            if part is not None:
                part.close()
                setattr(self, name, None)


class _StringsParser:
    """The expat handlers that collect each ``<si>``'s text, phonetic runs (``<rPh>``) left out."""

    def __init__(self, table: SharedStrings) -> None:
        self.table = table
        self.parts: list[str] = []
        self.collecting = False
        self.phonetic = False

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = local(tag)
        if name == "t":
            self.collecting = not self.phonetic
        elif name == "si":
            self.parts.clear()
        elif name == "rPh":
            self.phonetic = True

    def end(self, tag: str) -> None:
        name = local(tag)
        if name == "t":
            self.collecting = False
        elif name == "si":
            self.table.append(unescape("".join(self.parts)))
        elif name == "rPh":
            self.phonetic = False

    def chars(self, data: str) -> None:
        if self.collecting:
            self.parts.append(data)


def load_shared_strings(stream: IO[bytes], keep: int = KEEP_IN_MEMORY) -> SharedStrings:
    """Read the shared strings table: each ``<si>``'s text, phonetic runs (``<rPh>``) left out."""
    table = SharedStrings(keep)
    handlers = _StringsParser(table)
    try:
        parse_stream(make_parser(handlers.start, handlers.end, handlers.chars), stream)
    except BaseException:
        table.close()
        raise
    return table
