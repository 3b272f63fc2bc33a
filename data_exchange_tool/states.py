"""
The states of an import job and the groups transitions start from.

The names are the original data_exchange_tool's: a job is CREATED with its file, previewed
(PREVIEW_*), imported after a person confirms (IMPORT_*), or CANCELLED.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    """Every state of an ``ImportJob``."""

    CREATED = "CREATED", _("Created")
    PREVIEW_IN_PROGRESS = "PREVIEW_IN_PROGRESS", _("Preview in progress")
    PREVIEW_SUCCEEDED = "PREVIEW_SUCCEEDED", _("Preview succeeded")
    PREVIEW_FAILED = "PREVIEW_FAILED", _("Preview failed")
    IMPORT_IN_PROGRESS = "IMPORT_IN_PROGRESS", _("Import in progress")
    IMPORT_SUCCEEDED = "IMPORT_SUCCEEDED", _("Import succeeded")
    IMPORT_FAILED = "IMPORT_FAILED", _("Import failed")
    CANCELLED = "CANCELLED", _("Cancelled")


#: States in which a task is running for the job.
RUNNING_STATES = (JobState.PREVIEW_IN_PROGRESS, JobState.IMPORT_IN_PROGRESS)
#: States after which no task runs for the job unless a person asks (an IMPORT_FAILED job may
#: be previewed and confirmed again: its file is still there).
FINAL_STATES = (JobState.IMPORT_SUCCEEDED, JobState.IMPORT_FAILED, JobState.CANCELLED)
#: States in which a preview has finished.
PREVIEW_DONE_STATES = (JobState.PREVIEW_SUCCEEDED, JobState.PREVIEW_FAILED)
#: States from which the preview may run again ("re-run preview").
RERUN_STATES = (*PREVIEW_DONE_STATES, JobState.IMPORT_FAILED)
#: States from which a job may be cancelled.
CANCELLABLE_STATES = (
    JobState.CREATED,
    JobState.PREVIEW_IN_PROGRESS,
    JobState.PREVIEW_SUCCEEDED,
    JobState.PREVIEW_FAILED,
    JobState.IMPORT_IN_PROGRESS,
)


class RowAction(models.TextChoices):
    """What the import does (or would do) with one row."""

    NEW = "new", _("New")
    UPDATE = "update", _("Update")
    UNCHANGED = "unchanged", _("Unchanged")
    INVALID = "invalid", _("Invalid")


class ExportState(models.TextChoices):
    """Every state of an ``ExportJob``."""

    CREATED = "CREATED", _("Created")
    EXPORT_IN_PROGRESS = "EXPORT_IN_PROGRESS", _("Export in progress")
    EXPORT_SUCCEEDED = "EXPORT_SUCCEEDED", _("Export succeeded")
    EXPORT_FAILED = "EXPORT_FAILED", _("Export failed")
    CANCELLED = "CANCELLED", _("Cancelled")


#: States of an export after which nothing more happens to it.
EXPORT_FINAL_STATES = (
    ExportState.EXPORT_SUCCEEDED,
    ExportState.EXPORT_FAILED,
    ExportState.CANCELLED,
)
