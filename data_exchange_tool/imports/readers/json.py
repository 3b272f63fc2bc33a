"""
JSON readers: an array of objects (``.json``) and JSON Lines (``.jsonl``, ``.ndjson``).

Each object is a row and its keys are the columns. The header is the union of the keys of the
first ``HEADER_OBJECTS`` objects (or of those within the first ``HEADER_CHARS`` characters), in
the order they first appear; a later object with a key none of them had fails the preview naming
it, rather than dropping its values silently (list every key in the first object, with ``null``
where there is no value). A key given twice in one object is an error too (plain ``json.loads``
keeps the last silently).

Cells are the file's own text: numbers as written (``12.50`` stays ``12.50``, a 20-digit integer
is exact), ``true``/``false``, ``null`` as an empty cell, arrays and objects as JSON text (as the
exporter writes such fields). The array is parsed incrementally (``JSONDecoder.raw_decode`` over a
buffer refilled as it empties), so memory is bounded by the largest object, itself bounded by
``MAX_OBJECT_CELLS`` cells of the cell limit.

JSON is UTF-8 (RFC 8259); a UTF-16 or UTF-32 file with its BOM, or an encoding named on upload,
is read too. Row numbers are the objects' positions in the array (1 for the first), or the lines
of a JSON Lines file.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.imports.readers.base import BaseReader
from data_exchange_tool.imports.readers.csv import SNIFF_BYTES, _Prepended
from data_exchange_tool.imports.readers.encodings import bom_encoding, is_utf8
from data_exchange_tool.imports.readers.signatures import describe, not_text

#: Objects whose keys make the header.
HEADER_OBJECTS = 1000
#: Characters of objects read at most for the header (fewer objects when they are large).
HEADER_CHARS = 4 * 1024 * 1024
#: An object may hold this many cells of the cell limit (its text is bounded by that).
MAX_OBJECT_CELLS = 64
#: Characters read from the text at a time.
READ_CHARS = 64 * 1024
_WHITESPACE = " \t\n\r"


class Number(str):
    """A JSON number, kept as the text the file wrote."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKeyError(key)
        found[key] = value
    return found


class DuplicateKeyError(ValueError):
    """An object names the same key twice."""


DECODER = json.JSONDecoder(parse_float=Number, parse_int=Number, object_pairs_hook=_pairs)


def json_text(value: Any) -> str:
    """Return a value as JSON text, numbers as the file wrote them."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, Number):
        return str.__str__(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(json_text, value)) + "]"
    return (
        "{"
        + ", ".join(
            f"{json.dumps(k, ensure_ascii=False)}: {json_text(v)}" for k, v in value.items()
        )
        + "}"
    )


def cell(value: Any) -> str:
    """Return the text of one value of an object."""
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    if isinstance(value, Number):
        return str.__str__(value)
    if value is True or value is False:
        return "true" if value else "false"
    return json_text(value)


def _key_list(keys: list[str]) -> str:
    return ", ".join(repr(key[:40]) for key in keys[:10]) + (" ..." if len(keys) > 10 else "")


class BaseJSONReader(BaseReader):
    """Shared by the JSON readers: the text, the header from the first objects, the cells."""

    format_name = "JSON"
    takes_encoding = True

    def open(self) -> None:
        head = self.stream.read(SNIFF_BYTES)
        if not head.strip():
            raise FileFormatError("The file is empty.")
        what = describe(head) if self.encoding_given else not_text(head)
        if what:
            raise FileFormatError(f"This is not a JSON text file (it looks like {what}).")
        if not self.encoding_given:
            self.encoding = bom_encoding(head) or "utf-8"
            if self.encoding == "utf-8" and not is_utf8(head, len(head) < SNIFF_BYTES):
                raise FileFormatError(
                    "The JSON file is not UTF-8 text: save it as UTF-8, or choose its encoding "
                    "on upload."
                )
        raw = io.BufferedReader(_Prepended(head, self.stream), buffer_size=SNIFF_BYTES)
        self.text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
        self.max_object_chars = MAX_OBJECT_CELLS * self.max_cell_length
        self._objects = self.objects()
        self._first: list[tuple[int, dict[str, Any]]] = []
        keys: dict[str, None] = {}
        size = 0
        for number, obj in self._objects:
            self._first.append((number, obj))
            keys.update(dict.fromkeys(obj))
            size += sum(len(k) + len(cell(v)) for k, v in obj.items())
            if len(self._first) >= HEADER_OBJECTS or size >= HEADER_CHARS:
                break
        if not self._first:
            raise FileFormatError("The file is empty: it holds no object.")
        self.keys = keys
        self.header_objects = len(self._first)
        self.headers = self.check_headers(list(keys))

    def objects(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(row number, object)`` for each object of the file."""
        raise NotImplementedError

    def decode_error(self, exc: UnicodeDecodeError) -> FileFormatError:
        """Return the error of text that is not in the file's encoding."""
        return FileFormatError(
            f"The file is not valid {self.encoding} text: save it as UTF-8, or choose its "
            "encoding on upload."
        )

    def iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        headers, keys, limit = self.headers, self.keys, self.max_cell_length
        for number, obj in self._all_objects():
            if not keys.keys() >= obj.keys():
                late = [key for key in obj if key not in keys]
                raise FileFormatError(
                    f"Object {number} has key(s) none of the first {self.header_objects} objects "
                    f"has: {_key_list(late)}. Give every key in one of the first objects (with "
                    "null where there is no value)."
                )
            cells = [cell(obj.get(key)) for key in headers]
            if cells and max(map(len, cells)) > limit:
                raise self.too_long(number)
            if any(map(str.strip, cells)):
                yield number, cells

    def _all_objects(self) -> Iterator[tuple[int, dict[str, Any]]]:
        first, self._first = self._first, []
        yield from first
        try:
            yield from self._objects
        except UnicodeDecodeError as exc:
            raise self.decode_error(exc) from exc

    def close(self) -> None:
        text = getattr(self, "text", None)
        if text is not None:
            text.close()
        super().close()


class JSONReader(BaseJSONReader):
    """Read a JSON array of objects, incrementally."""

    extensions = (".json",)

    def objects(self) -> Iterator[tuple[int, dict[str, Any]]]:
        buffer = _Buffer(self.text, self.max_object_chars)
        try:
            first = buffer.skip_whitespace()
            if first != "[":
                raise FileFormatError(not_an_array(first))
            buffer.position += 1
            yield from self._items(buffer)
        except UnicodeDecodeError as exc:
            raise self.decode_error(exc) from exc

    def _items(self, buffer: _Buffer) -> Iterator[tuple[int, dict[str, Any]]]:
        number = 0
        while True:
            char = buffer.skip_whitespace()
            if char == "]" and number == 0:
                break
            number += 1
            value = buffer.decode(number)
            if not isinstance(value, dict):
                raise FileFormatError(
                    f"Item {number} of the array is not an object: the file must hold an array "
                    "of objects ([{...}, {...}])."
                )
            yield number, value
            char = buffer.skip_whitespace()
            if char == "]":
                break
            if char != ",":
                raise FileFormatError(f"The JSON text cannot be read after object {number}.")
            buffer.position += 1
        buffer.position += 1
        if buffer.skip_whitespace():
            raise FileFormatError("The JSON text goes on after the end of its array.")


def not_an_array(first: str) -> str:
    """Return the message of a JSON file that is not an array."""
    if first == "{":
        return (
            "The JSON file must hold an array of objects ([{...}, {...}]); it holds one object. "
            "A file of one object per line is JSON Lines: name it .jsonl."
        )
    return "The JSON file must hold an array of objects ([{...}, {...}])."


class _Buffer:
    """Text read from a stream as needed, for ``raw_decode``; consumed text is dropped."""

    def __init__(self, text: io.TextIOWrapper, limit: int) -> None:
        self.text = text
        self.limit = limit
        self.data = ""
        self.position = 0
        self.ended = False

    def fill(self, size: int = READ_CHARS) -> bool:
        """Read more text; return False at the end of the file."""
        if self.ended:
            return False
        if self.position > READ_CHARS:
            self.data, self.position = self.data[self.position :], 0
        more = self.text.read(size)
        if not more:
            self.ended = True
            return False
        self.data += more
        return True

    def skip_whitespace(self) -> str:
        """Skip whitespace; return the next character ("" at the end of the file)."""
        while True:
            while self.position < len(self.data) and self.data[self.position] in _WHITESPACE:
                self.position += 1
            if self.position < len(self.data):
                return self.data[self.position]
            if not self.fill():
                return ""

    def decode(self, number: int) -> Any:
        """Return the JSON value at the position, reading more text until it is whole."""
        size = READ_CHARS
        while True:
            try:
                value, end = DECODER.raw_decode(self.data, self.position)
            except DuplicateKeyError as exc:
                raise FileFormatError(
                    f"Object {number} has the key {str(exc)[:40]!r} twice."
                ) from None
            except RecursionError:
                raise FileFormatError(f"Object {number} is nested too deeply.") from None
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.data) - 1 or exc.msg.startswith("Unterminated")
                if not cut:
                    raise FileFormatError(
                        f"Object {number} is not valid JSON ({exc.msg})."
                    ) from None
                if len(self.data) - self.position > self.limit:
                    raise FileFormatError(
                        f"Object {number} is longer than {self.limit:,} characters."
                    ) from None
                if not self.fill(size):
                    raise FileFormatError(
                        f"Object {number} is not valid JSON ({exc.msg})."
                    ) from None
                size *= 2
                continue
            self.position = end
            return value


class JSONLinesReader(BaseJSONReader):
    """Read JSON Lines: one object per line, blank lines skipped."""

    extensions = (".jsonl", ".ndjson")
    format_name = "JSON Lines"

    def objects(self) -> Iterator[tuple[int, dict[str, Any]]]:
        readline = self.text.readline
        limit = self.max_object_chars
        number = 0
        try:
            while line := readline(limit + 1):
                number += 1
                if len(line) > limit and not line.endswith("\n"):
                    raise FileFormatError(f"Line {number} is longer than {limit:,} characters.")
                if line.strip():
                    yield number, self.parse(line, number)
        except UnicodeDecodeError as exc:
            raise self.decode_error(exc) from exc

    @staticmethod
    def parse(line: str, number: int) -> dict[str, Any]:
        """Return the object of one line."""
        try:
            value = DECODER.decode(line)
        except DuplicateKeyError as exc:
            raise FileFormatError(f"Line {number} has the key {str(exc)[:40]!r} twice.") from None
        except RecursionError:
            raise FileFormatError(f"Line {number} is nested too deeply.") from None
        except json.JSONDecodeError as exc:
            raise FileFormatError(f"Line {number} is not valid JSON ({exc.msg}).") from None
        if not isinstance(value, dict):
            raise FileFormatError(f"Line {number} is not a JSON object ({{...}}).")
        return value
