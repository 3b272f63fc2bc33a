"""
Columns: which column of the file feeds which serializer field.

A file's header row names its columns; ``ColumnMap`` matches each header to a writable field of
the row serializer (by the field's name or label, ignoring case and surrounding spaces, then the
job type's ``column_mapping``), refuses a file that lacks a required column, and turns each row of
cell texts into the ``{field: text}`` data the serializer validates. An empty cell means what it
means for its field (``None``, ``""`` or absent); a cell our exports neutralised against
spreadsheet formulas gets its text back.

A field that holds several related objects (``many=True``, ``ThroughManyField``) reads one cell
split on the job type's ``many_separator`` (or the field's own ``separator``) into a list of
stripped items; its empty cell is an empty list, which sets the relation to nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from rest_framework import serializers
from rest_framework.relations import ManyRelatedField

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.fields import ThroughManyField, split_items
from data_exchange_tool.formulas import restore as restore_formula
from data_exchange_tool.messages import listing

#: An empty cell of a field that is neither nullable nor blank-able: the field is left out.
OMIT = object()


def normalize_header(text: str) -> str:
    """Return a header as it is matched: lower case, surrounding spaces removed."""
    return " ".join(str(text).split()).lower()


def is_many(serializer_field: serializers.Field) -> bool:
    """Return True for a field whose cell lists several related objects."""
    return isinstance(serializer_field, ManyRelatedField | ThroughManyField)


def empty_value(serializer_field: serializers.Field) -> Any:
    """Return what an empty cell means for a field: None, "", [] (many), or nothing (omitted)."""
    if is_many(serializer_field):
        return []
    if serializer_field.allow_null:
        return None
    if getattr(serializer_field, "allow_blank", False):
        return ""
    return OMIT


class ColumnMap:
    """Which column of the file feeds which serializer field.

    A cell our exports neutralised against spreadsheet formulas (``'=...``) gets its text back
    (``formulas.restore``) while ``DATA_EXCHANGE_NEUTRALIZE_FORMULAS`` is on.
    """

    def __init__(
        self,
        headers: Sequence[str],
        fields: dict[str, serializers.Field],
        mapping: dict[str, str],
        required: Sequence[str] = (),
        separator: str | None = None,
    ) -> None:
        self.headers = list(headers)
        wanted = {normalize_header(k): v for k, v in mapping.items()}
        for name, serializer_field in fields.items():
            wanted.setdefault(normalize_header(name), name)
            if serializer_field.label:
                wanted.setdefault(normalize_header(str(serializer_field.label)), name)
        self.columns: list[tuple[int, str, Any]] = []
        self.header_of: dict[str, str] = {}
        self.restore_formulas = bool(app_settings.NEUTRALIZE_FORMULAS)
        for index, header in enumerate(self.headers):
            name = wanted.get(normalize_header(header), "")  # "" names no field
            if name in fields and name not in self.header_of:
                self.columns.append((index, name, empty_value(fields[name])))
                self.header_of[name] = header
        self._check_required(fields, required)
        default_separator = separator or app_settings.MANY_SEPARATOR
        #: ``{field: separator}`` of the fields whose cell is split into items.
        self.many = {
            name: getattr(fields[name], "separator", None) or default_separator
            for name in self.header_of
            if is_many(fields[name])
        }
        self.names = [name for _, name, _ in self.columns]
        self.index_of = {name: index for index, name, _ in self.columns}
        self.width = 1 + max((index for index, _, _ in self.columns), default=-1)
        indexes = [index for index, _, _ in self.columns]
        self.pick: Callable[[list[str]], tuple[str, ...]]
        if len(indexes) > 1:
            self.pick = operator.itemgetter(*indexes)
        else:
            last = self.width - 1
            self.pick = lambda cells: (cells[last],)

    def _check_required(
        self, fields: dict[str, serializers.Field], required: Sequence[str]
    ) -> None:
        needed = [name for name, f in fields.items() if f.required] + list(required)
        missing = [name for name in dict.fromkeys(needed) if name not in self.header_of]
        if missing:
            found = listing(h for h in self.headers if h.strip()) or "none"
            raise FileFormatError(
                f"Missing required column(s): {listing(missing)}. Columns found: {found}."
            )

    def row_data(self, cells: list[str]) -> tuple[dict[str, Any], list[str]]:
        """Return ``({field: text}, [fields holding a NUL character])`` for one row."""
        if len(cells) >= self.width > 0:
            # The common row, checked with a few calls that loop in C: every mapped cell is
            # filled, none holds a NUL, none starts with a quote (a neutralised formula).
            texts = self.pick(cells)
            if all(map(str.strip, texts)):
                joined = "\n".join(texts)
                if "\x00" not in joined and not (
                    self.restore_formulas and (joined[0] == "'" or "\n'" in joined)
                ):
                    data = dict(zip(self.names, texts, strict=True))
                    return (self._split(data) if self.many else data), []
        data, nul = self._row_data_cell_by_cell(cells)
        return (self._split(data) if self.many else data), nul

    def rows_data(self, rows: Sequence[list[str]]) -> list[tuple[dict[str, Any], list[str]]]:
        """Return ``row_data`` of each row of a batch: the batch's NUL and quote tests made once
        on one joined text, then each row's ``row_data`` quick test in one listed loop; a row
        that fails it, and every row of a batch that fails the joined tests, cell by cell."""
        width = self.width
        if not rows or width <= 0 or min(map(len, rows)) < width:
            return list(map(self.row_data, rows))
        picked = list(map(self.pick, rows))
        joined = "\n".join(map("\n".join, picked))
        if "\x00" in joined or (self.restore_formulas and (joined[:1] == "'" or "\n'" in joined)):
            return list(map(self.row_data, rows))
        names, strip = self.names, str.strip
        datas = [
            (dict(zip(names, texts, strict=True)), [])
            if all(map(strip, texts))
            else self._row_data_cell_by_cell(cells)
            for texts, cells in zip(picked, rows, strict=True)
        ]
        if self.many:
            datas = [(self._split(data), nul) for data, nul in datas]
        return datas

    def _split(self, data: dict[str, Any]) -> dict[str, Any]:
        """Turn the cells of many fields into lists of items."""
        for name, separator in self.many.items():
            text = data.get(name)
            if isinstance(text, str):
                data[name] = split_items(text, separator)
            elif isinstance(text, list):  # an empty cell: a list of its own for each row
                data[name] = []
        return data

    def _row_data_cell_by_cell(self, cells: list[str]) -> tuple[dict[str, Any], list[str]]:
        data: dict[str, Any] = {}
        nul: list[str] = []
        size = len(cells)
        restore = self.restore_formulas
        for index, name, empty in self.columns:
            text = cells[index] if index < size else ""
            if not text or text.isspace():
                if empty is not OMIT:
                    data[name] = empty
            else:
                if "\x00" in text:
                    nul.append(name)
                if restore and text[0] == "'":
                    text = restore_formula(text)
                data[name] = text
        return data, nul

    def values(self, cells: list[str]) -> dict[str, str]:
        """Return the row as ``{header: text}``, as it was in the file."""
        return {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(self.headers) if h}
