"""
Row outcomes: what validation found for one row of the file, handed from part to part.

A ``RowOutcome`` carries a row from the file (its number and cells) through validation (the data
given to the serializer, its validated data or errors) to its action: new, update (with the
instance it updates and each change), unchanged or invalid.
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
    instance: models.Model | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, column: str, message: str) -> None:
        """Mark the row invalid with one more error."""
        self.action = RowAction.INVALID
        self.errors.append((column, message))
