"""
What a preview or an import found: counts (``RunResult``), and row by row in the database.

Row errors and the preview's sample live in their own tables, so a preview of a million rows can be
paged and its invalid rows exported later; only the counts are stored on the job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from data_exchange_tool.models.base import MessageField
from data_exchange_tool.states import RowAction


class Phase(models.TextChoices):
    """The task that recorded a row."""

    PREVIEW = "preview", _("Preview")
    IMPORT = "import", _("Import")


class ImportJobRowError(models.Model):
    """One problem with one row of an import file: row number, column, message, the row's values."""

    job = models.ForeignKey(
        "data_exchange_tool.ImportJob", on_delete=models.CASCADE, related_name="row_errors"
    )
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.PREVIEW)
    row_number = models.PositiveIntegerField(help_text=_("Row in the file; the header is row 1."))
    column = models.CharField(max_length=255, blank=True, help_text=_("Blank for the whole row."))
    message = MessageField()
    values = models.JSONField(default=dict, help_text=_("The row as it was in the file."))

    class Meta:
        ordering = ("row_number", "id")
        indexes = (
            models.Index(fields=("job", "phase", "row_number"), name="dxt_rowerror_job_row"),
        )
        verbose_name = _("row error")
        verbose_name_plural = _("row errors")

    def __str__(self) -> str:
        where = f"row {self.row_number}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class ImportJobPreviewRow(models.Model):
    """A sampled row of a preview with its planned action and, for updates, each change."""

    job = models.ForeignKey(
        "data_exchange_tool.ImportJob", on_delete=models.CASCADE, related_name="preview_rows"
    )
    row_number = models.PositiveIntegerField()
    action = models.CharField(max_length=16, choices=RowAction.choices)
    values = models.JSONField(default=dict, help_text=_("The row as it was in the file."))
    changes = models.JSONField(
        default=dict, help_text=_("For updates: {field: [old, new]} of each changed field.")
    )

    class Meta:
        ordering = ("row_number",)
        indexes = (models.Index(fields=("job", "action", "row_number"), name="dxt_previewrow_job"),)
        verbose_name = _("preview row")
        verbose_name_plural = _("preview rows")

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.action}"


@dataclass
class RunResult:
    """Counts of a preview or an import."""

    total: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0

    def count(self, outcomes: Iterable[Any]) -> None:
        """Add the actions of a batch (objects with an ``action``)."""
        for outcome in outcomes:
            self.total += 1
            if outcome.action == RowAction.NEW:
                self.new += 1
            elif outcome.action == RowAction.UPDATE:
                self.updated += 1
            elif outcome.action == RowAction.UNCHANGED:
                self.unchanged += 1
            else:
                self.invalid += 1
