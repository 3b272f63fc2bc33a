"""
The parts of a partitioned preview or import: a range of the job's file (or of the CSV its workbook
was converted to), validated by its own task.

A file of more rows than the job type's ``get_part_rows()`` (``DATA_EXCHANGE_PART_ROWS``, 0: never)
is cut into parts on PostgreSQL (``imports.parts``); each part is one row here, claimed by the task
that runs it under a row lock and held through a lease of its own (``leases``), as a job is. The
step that ends the job (the merge of a preview, the apply of an import) reads every part's counts
and record numbers; the parts of an earlier attempt of the job are deleted when it starts again.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, models
from django.utils.translation import gettext_lazy as _

from data_exchange_tool.models.results import Phase
from data_exchange_tool.storage import delete_file_on_commit, get_storage


class PartState(models.TextChoices):
    """Where a part is: waiting for its task, running, done, or failed."""

    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJobPart(models.Model):
    """One part of a job's file: a byte range of a CSV file, validated by its own task."""

    job = models.ForeignKey(
        "data_exchange_tool.ImportJob",
        on_delete=models.CASCADE,
        related_name="parts",
        verbose_name=_("job"),
    )
    phase = models.CharField(_("phase"), max_length=16, choices=Phase.choices)
    index = models.PositiveIntegerField(_("index"))
    count = models.PositiveIntegerField(_("parts"), help_text=_("How many parts the file has."))
    #: The nominal byte offsets; each task finds the record boundaries at them itself.
    start = models.BigIntegerField(_("nominal start"))
    end = models.BigIntegerField(_("nominal end"), null=True, blank=True)
    #: The file the part reads when it is not the job's own: the UTF-8 CSV a workbook was
    #: converted to by the lead (``imports.parts``), and its size.
    source = models.CharField(_("source"), max_length=500, blank=True)
    source_size = models.BigIntegerField(_("source size"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=PartState.choices, default=PartState.PENDING
    )
    #: Records the part read (a blank line is a record too): the merge numbers rows with them.
    records = models.PositiveIntegerField(_("records"), default=0)
    total_rows = models.PositiveIntegerField(_("total"), default=0)
    new_rows = models.PositiveIntegerField(_("new"), default=0)
    updated_rows = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_rows = models.PositiveIntegerField(_("unchanged"), default=0)
    invalid_rows = models.PositiveIntegerField(_("invalid"), default=0)
    progress_done = models.PositiveIntegerField(_("rows done"), default=0)
    progress_total = models.PositiveIntegerField(_("rows to do"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    message = models.TextField(_("message"), blank=True)
    task_id = models.CharField(_("task"), max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ("job", "phase", "index")
        constraints = (
            models.UniqueConstraint(
                fields=("job", "phase", "index"), name="dxt_part_job_phase_index"
            ),
        )
        verbose_name = _("job part")
        verbose_name_plural = _("job parts")

    def __str__(self) -> str:
        return f"{self.job_id}/{self.phase}/{self.index + 1} of {self.count}"

    @property
    def is_last(self) -> bool:
        return self.index == self.count - 1

    def counts(self) -> dict[str, int]:
        """Return the part's counts as the job's ``counts`` names them."""
        return {
            "total": self.total_rows,
            "new": self.new_rows,
            "updated": self.updated_rows,
            "unchanged": self.unchanged_rows,
            "invalid": self.invalid_rows,
        }


#: The key of ``ImportJob.options`` naming the CSV file the job's workbook was last converted to,
#: noted before the file is stored (``imports.staging.note_converted``).
CONVERTED_OPTION = "converted"


def delete_part_sources(sender: type, instance: Any, using: str = "default", **kwargs: Any) -> None:
    """Before an import job is deleted: delete the CSV files its workbook was converted to for
    its parts, once the deletion commits (its parts, which name them, go with it, as does the
    name noted on the job before a conversion stored its file; the staging tables
    ``liveness.sweep_staging`` finds by name). Partitioned jobs run on PostgreSQL only:
    elsewhere no query is made.

    Connected in ``AppConfig.ready`` for ``ImportJob`` and its job types, beside
    ``base.delete_job_file``.
    """
    if connections[using].vendor != "postgresql":
        return
    parts = ImportJobPart.objects.using(using).filter(job_id=instance.pk).exclude(source="")
    names = set(parts.values_list("source", flat=True))
    names.add(str((instance.options or {}).get(CONVERTED_OPTION) or ""))
    for name in names - {""}:
        delete_file_on_commit(get_storage(), name, always=True)
