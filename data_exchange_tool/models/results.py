"""
What a preview or an import found: counts (``RunResult``), and row by row in the database.

Row errors and the preview's rows live in their own tables, so a preview of a million rows can be
paged and its invalid rows exported later; only the counts are stored on the job. The preview's
rows (``ImportJobPreviewRow``) are what its table shows: the invalid and updated rows in full up to
``DATA_EXCHANGE_PREVIEW_KEEP_ROWS`` each, and a sample of the new and unchanged ones
(``DATA_EXCHANGE_PREVIEW_SAMPLE_SIZE``), so what is kept stays bounded whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext
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
        "data_exchange_tool.ImportJob",
        on_delete=models.CASCADE,
        related_name="row_errors",
        verbose_name=_("job"),
    )
    phase = models.CharField(
        _("phase"), max_length=16, choices=Phase.choices, default=Phase.PREVIEW
    )
    row_number = models.PositiveIntegerField(
        _("row"), help_text=_("Row in the file; the header is row 1.")
    )
    #: Set while a part of a partitioned run owns the row: ``row_number`` counts from that
    #: part's start until the merge adds the records before it (and clears this).
    part = models.PositiveIntegerField(_("part"), null=True, blank=True, editable=False)
    column = models.CharField(
        _("column"), max_length=255, blank=True, help_text=_("Blank for the whole row.")
    )
    message = MessageField(_("message"))
    values = models.JSONField(
        _("values"), default=dict, help_text=_("The row as it was in the file.")
    )

    class Meta:
        ordering = ("row_number", "id")
        indexes = (
            models.Index(fields=("job", "phase", "row_number"), name="dxt_rowerror_job_row"),
        )
        verbose_name = _("row error")
        verbose_name_plural = _("row errors")

    def __str__(self) -> str:
        if self.column:
            return gettext("row %(row)s, %(column)s: %(message)s") % {
                "row": self.row_number,
                "column": self.column,
                "message": self.message,
            }
        return gettext("row %(row)s: %(message)s") % {
            "row": self.row_number,
            "message": self.message,
        }


class ImportJobPreviewRow(models.Model):
    """A row the preview kept for its table: planned action, the row's cells, changes, errors."""

    job = models.ForeignKey(
        "data_exchange_tool.ImportJob",
        on_delete=models.CASCADE,
        related_name="preview_rows",
        verbose_name=_("job"),
    )
    row_number = models.PositiveIntegerField(_("row"))
    #: Set while a part of a partitioned run owns the row: ``row_number`` counts from that
    #: part's start until the merge adds the records before it (and clears this).
    part = models.PositiveIntegerField(_("part"), null=True, blank=True, editable=False)
    action = models.CharField(_("action"), max_length=16, choices=RowAction.choices)
    values = models.JSONField(
        _("values"), default=dict, help_text=_("The row as it was in the file.")
    )
    changes = models.JSONField(
        _("changes"),
        default=dict,
        help_text=_("For updates: {field: [old, new]} of each changed field."),
    )
    errors = models.JSONField(
        _("errors"),
        default=list,
        blank=True,
        help_text=_("For invalid rows: [column, message] of each problem (column blank: the row)."),
    )

    class Meta:
        ordering = ("row_number",)
        indexes = (models.Index(fields=("job", "action", "row_number"), name="dxt_previewrow_job"),)
        verbose_name = _("preview row")
        verbose_name_plural = _("preview rows")

    def __str__(self) -> str:
        return gettext("row %(row)s: %(action)s") % {
            "row": self.row_number,
            "action": self.get_action_display(),
        }


#: The most rows an import remembers by pk, so the admin can link to exactly the rows it wrote.
WRITTEN_PKS_KEPT = 200


@dataclass
class RunResult:
    """Counts of a preview or an import.

    An import also gives ``written_pks``: the pks of the rows it created or updated when they are
    at most ``WRITTEN_PKS_KEPT`` and all known, else None.
    """

    total: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    written_pks: list[Any] | None = None

    def as_counts(self) -> dict[str, int]:
        """Return the counts as the job's ``counts`` names them."""
        return {
            "total": self.total,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "invalid": self.invalid,
        }

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
