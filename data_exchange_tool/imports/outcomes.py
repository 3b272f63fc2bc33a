"""
Row outcomes: what validation found for one row of the file, handed from part to part.

A ``RowOutcome`` carries a row from the file (its number and cells) through validation (the data
given to the serializer, its validated data or errors, the row it writes) to its action: new,
update (with the primary key of the stored row it updates and each change), unchanged or invalid.
The changes of the row's own columns (``changes``, written by the row's update) are kept apart
from those of its many-to-many relations (``relation_changes``, written to their through
tables): a row may change only the latter. Once written it holds its primary key (and, for a job
type with an ``after_import_row`` hook, the saved instance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models

from data_exchange_tool.states import RowAction


@dataclass(slots=True)
class RowOutcome:
    """What validation found for one row."""

    row_number: int
    cells: list[str]
    data: dict[str, Any]
    action: str = RowAction.NEW
    validated: dict[str, Any] | None = None
    #: The validated data as the columns it writes, ``{attname: value}`` (``codecs.RowShape``).
    row: dict[str, Any] | None = None
    #: The stored row's primary key: the row it updates, or the new row's once written.
    pk: Any = None
    instance: models.Model | None = None
    #: ``{field name: (old, new)}`` of an update's changed fields.
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: ``{field: ([old items], [new items])}``: the row's many-to-many relations that change.
    relation_changes: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, column: str, message: str) -> None:
        """Mark the row invalid with one more error."""
        self.action = RowAction.INVALID
        self.errors.append((column, message))
