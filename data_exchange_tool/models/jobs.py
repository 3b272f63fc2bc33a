"""
``ImportJob``: one tracked import of one file into one target model.

There is one concrete table; each target is a *job type*, a proxy subclass that names its target
model and the DRF serializer that validates one row. The job's state is a protected django-fsm
field: only transitions change it, and a stale concurrent transition is refused
(``ConcurrentTransitionMixin``). See ``data_exchange_tool.states`` for the states.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any, ClassVar

import django_fsm as fsm
from django.conf import settings  # noqa: TID251 - AUTH_USER_MODEL, as Django's own models
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from data_exchange_tool import messages
from data_exchange_tool.conf import app_settings
from data_exchange_tool.models.base import (
    BaseJob,
    JobManager,
    JobQuerySet,
    resolve_class,
)
from data_exchange_tool.states import (
    CANCELLABLE_STATES,
    RERUN_STATES,
    JobState,
)
from data_exchange_tool.storage import get_storage, upload_to

if TYPE_CHECKING:
    from rest_framework import serializers

    from data_exchange_tool.models.results import RunResult

USER_MODEL = settings.AUTH_USER_MODEL


class ImportJobQuerySet(JobQuerySet):
    """Queries over import jobs."""

    def running(self) -> ImportJobQuerySet:
        """Return the jobs whose preview or import task is running."""
        return self.filter(state__in=(JobState.PREVIEW_IN_PROGRESS, JobState.IMPORT_IN_PROGRESS))

    def importing(self) -> ImportJobQuerySet:
        """Return the jobs holding the import lock of their target."""
        return self.filter(state=JobState.IMPORT_IN_PROGRESS)


class ImportJobManager(JobManager.from_queryset(ImportJobQuerySet)):  # type: ignore[misc]
    """On a job type, see only the jobs of that type; on ``ImportJob``, see every job."""


class ImportJob(BaseJob):
    """
    One tracked import of one file into one target model.

    Declare a job type as a proxy with the target model and the serializer that validates one row::

        class StockRecordImportJob(ImportJob):
            class Meta:
                proxy = True
                target_model = StockRecord
                serializer_class = "shop.serializers.ImportStockRecordSerializer"

    Each option can also be a class attribute, and each has a ``get_<option>()`` hook to override.
    The model holds the job's state and its transitions; what a person asks of a job (upload,
    confirm, cancel, re-run) goes through ``data_exchange_tool.actions``.
    """

    #: Names a job type may declare in ``Meta`` (moved to class attributes by the metaclass).
    job_options: ClassVar[tuple[str, ...]] = (
        "target_model",
        "serializer_class",
        "natural_key",
        "column_mapping",
        "batch_size",
        "preview_sample_size",
        "many_separator",
        "part_rows",
    )
    #: The model rows are written to: a model class or ``"app_label.ModelName"``.
    target_model: ClassVar[Any] = None
    #: The DRF serializer that validates one row: a class or a dotted path.
    serializer_class: ClassVar[Any] = None
    #: The fields whose values find the stored instance a row updates (its natural key). ``None``:
    #: the target's first unique set whose fields the serializer writes; ``()``: every row is new.
    natural_key: ClassVar[tuple[str, ...] | None] = None
    #: ``{"Column in the file": "serializer_field"}`` for headers that differ from field names.
    column_mapping: ClassVar[dict[str, str] | None] = None
    #: Rows per batch; ``None``: ``DATA_EXCHANGE_BATCH_SIZE``.
    batch_size: ClassVar[int | None] = None
    #: Sampled rows per planned action; ``None``: ``DATA_EXCHANGE_PREVIEW_SAMPLE_SIZE``.
    preview_sample_size: ClassVar[int | None] = None
    #: What separates the items of a many-to-many cell; ``None``: ``DATA_EXCHANGE_MANY_SEPARATOR``.
    many_separator: ClassVar[str | None] = None
    #: Rows per part of a partitioned preview and import; ``None``: ``DATA_EXCHANGE_PART_ROWS``
    #: (0: never partitioned).
    part_rows: ClassVar[int | None] = None

    state = fsm.FSMField(
        _("state"),
        max_length=32,
        choices=JobState.choices,
        default=JobState.CREATED,
        protected=True,
        db_index=True,
    )
    file = models.FileField(
        _("file"),
        upload_to=upload_to,
        storage=get_storage,
        max_length=500,
    )
    file_name = models.CharField(_("original file name"), max_length=255, blank=True)
    file_size = models.BigIntegerField(_("file size"), null=True, blank=True)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    file_encoding = models.CharField(_("detected encoding"), max_length=32, blank=True)
    file_delimiter = models.CharField(
        _("delimiter"),
        max_length=8,
        blank=True,
        help_text=_("The CSV delimiter the preview read the file with (given or detected)."),
    )
    file_headers = models.JSONField(
        _("columns"),
        default=list,
        blank=True,
        editable=False,
        help_text=_("The file's header row, as the preview read it."),
    )
    force_import = models.BooleanField(
        _("force import"), default=False, help_text=_("Skip invalid rows and import the others.")
    )

    created_by = models.ForeignKey(
        USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    confirmed_by = models.ForeignKey(
        USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    preview_started_at = models.DateTimeField(_("preview started"), null=True, blank=True)
    preview_finished_at = models.DateTimeField(_("preview finished"), null=True, blank=True)
    import_started_at = models.DateTimeField(_("import started"), null=True, blank=True)
    import_finished_at = models.DateTimeField(_("import finished"), null=True, blank=True)
    cancel_requested_at = models.DateTimeField(_("cancel requested"), null=True, blank=True)
    written_pks = models.JSONField(
        _("written rows"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "The primary keys of the rows the import created or updated, when there were few "
            "enough to link to them."
        ),
    )

    new_rows = models.PositiveIntegerField(_("new"), default=0)
    updated_rows = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_rows = models.PositiveIntegerField(_("unchanged"), default=0)
    invalid_rows = models.PositiveIntegerField(_("invalid"), default=0)

    preview_task_id = models.CharField(_("preview task"), max_length=255, blank=True)
    import_task_id = models.CharField(_("import task"), max_length=255, blank=True)
    preview_queue = models.CharField(
        _("preview queue"),
        max_length=255,
        blank=True,
        help_text=_("The queue the preview task ran from."),
    )
    import_queue = models.CharField(
        _("import queue"),
        max_length=255,
        blank=True,
        help_text=_("The queue the import task ran from."),
    )

    objects = ImportJobManager()

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ("-created_at", "-id")
        permissions = (
            ("confirm_importjob", "Can confirm import jobs of every type"),
            ("view_all_importjob", "Can view every user's import jobs of every type"),
        )
        constraints = (
            # The lock per target: at most one running import for each target model.
            models.UniqueConstraint(
                fields=("content_type",),
                condition=models.Q(state="IMPORT_IN_PROGRESS"),
                name="data_exchange_tool_one_import_per_target",
            ),
        )

    def __str__(self) -> str:
        return gettext("%(type)s #%(id)s (%(file)s)") % {
            "type": self._meta.verbose_name,
            "id": self.pk,
            "file": self.file_name or self.file.name,
        }

    # --- saving --------------------------------------------------------------------------

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Fill the job type and, for a new upload, the file's name, size and SHA-256."""
        self._fill_job_type()
        if self.file and not getattr(self.file, "_committed", True):
            self._fill_file_facts()
        super().save(*args, **kwargs)

    def _fill_file_facts(self) -> None:
        digest = hashlib.sha256()
        size = 0
        for chunk in self.file.chunks():
            digest.update(chunk)
            size += len(chunk)
        self.file.seek(0)
        self.file_sha256 = digest.hexdigest()
        self.file_size = size
        if not self.file_name:
            self.file_name = os.path.basename(self.file.name or "")[:255]

    # --- options and hooks ---------------------------------------------------------------

    @classmethod
    def get_serializer_class(cls) -> type[serializers.Serializer]:
        """Return the serializer class that validates one row."""
        return resolve_class(cls.serializer_class, cls, "serializer_class")

    def get_serializer_context(self) -> dict[str, Any]:
        """Return the context given to the row serializer; it holds the job."""
        return {"job": self}

    def get_serializer(self) -> serializers.Serializer:
        """Return the serializer instance that validates every row of a batch."""
        return self.get_serializer_class()(context=self.get_serializer_context())

    def get_queryset(self) -> models.QuerySet:
        """Return the target rows a file may update (rows are matched against it)."""
        return self.get_target_model()._default_manager.all()

    @classmethod
    def get_natural_key(cls) -> tuple[str, ...]:
        """Return the fields that match a row to a stored instance; empty: every row is new."""
        if cls.natural_key is not None:
            return tuple(cls.natural_key)
        return cls.default_natural_key()

    @classmethod
    def default_natural_key(cls) -> tuple[str, ...]:
        """Return the target's first unique set whose fields the serializer writes.

        Unique constraints come first (unconditional ones on fields only), then
        ``unique_together``, then unique fields, then the primary key.
        """
        model = cls.get_target_model()
        written = {
            f.source for f in cls.get_serializer_class()().fields.values() if not f.read_only
        }
        candidates: list[tuple[str, ...]] = [
            tuple(constraint.fields)
            for constraint in model._meta.constraints
            if isinstance(constraint, models.UniqueConstraint)
            and constraint.fields
            and not (constraint.condition or constraint.expressions)
        ]
        candidates.extend(tuple(fields) for fields in model._meta.unique_together)
        candidates.extend(
            (f.name,) for f in model._meta.concrete_fields if f.unique and not f.primary_key
        )
        candidates.append((model._meta.pk.name,))
        return next((c for c in candidates if set(c) <= written), ())

    @classmethod
    def get_column_mapping(cls) -> dict[str, str]:
        """Return ``{"column in the file": "serializer field"}`` for renamed columns."""
        return dict(cls.column_mapping or {})

    def get_batch_size(self) -> int:
        """Return how many rows are validated and written together."""
        return int(self.batch_size or app_settings.BATCH_SIZE)

    def get_part_rows(self) -> int:
        """Return the rows per part above which the file is cut into parts (0: never)."""
        rows = self.part_rows
        return int(app_settings.PART_ROWS if rows is None else rows)

    @property
    def given_encoding(self) -> str:
        """Return the text encoding named on upload, or "" to detect it."""
        return str((self.options or {}).get("encoding") or "")

    @property
    def given_delimiter(self) -> str:
        """Return the CSV delimiter named on upload, or "" to detect it."""
        return str((self.options or {}).get("delimiter") or "")

    def get_preview_sample_size(self) -> int:
        """Return how many rows of each planned action the preview keeps."""
        size = self.preview_sample_size
        return int(app_settings.PREVIEW_SAMPLE_SIZE if size is None else size)

    @classmethod
    def get_many_separator(cls) -> str:
        """Return what separates the items of a many-to-many cell (``"red;blue"``)."""
        return str(cls.many_separator or app_settings.MANY_SEPARATOR)

    def before_import_row(self, row: dict[str, Any], row_number: int) -> None:
        """Override to change a row's data before validation (preview and import).

        Does nothing by default.

        :param row: ``{serializer_field: cell text}`` (a list of item texts for a field that
            lists related objects); change it in place.
        :param row_number: the row in the file (the header is row 1).
        """

    def after_import_row(self, instance: models.Model, row_number: int, action: str) -> None:
        """Override to act on each written instance, after its batch is saved.

        Does nothing by default.

        :param instance: the created or updated instance.
        :param row_number: the row in the file.
        :param action: ``"new"`` or ``"update"``.
        """

    def after_import(self, result: RunResult) -> None:
        """Override to act once the import has written every row, inside its transaction.

        Does nothing by default.

        :param result: counts of the import (``RunResult``).
        """

    # --- state -----------------------------------------------------------------------------

    @property
    def counts(self) -> dict[str, int]:
        """Return the rows of the last run by planned (or done) action, and their total."""
        return {
            "total": self.total_rows,
            "new": self.new_rows,
            "updated": self.updated_rows,
            "unchanged": self.unchanged_rows,
            "invalid": self.invalid_rows,
        }

    @property
    def is_running(self) -> bool:
        """Return True while a preview or import task works on the job."""
        return self.state in (JobState.PREVIEW_IN_PROGRESS, JobState.IMPORT_IN_PROGRESS)

    def reset_results(self) -> None:
        """Forget the counts, errors and sample of an earlier run."""
        self.total_rows = self.new_rows = self.updated_rows = 0
        self.unchanged_rows = self.invalid_rows = 0
        self.progress_done = self.progress_total = 0
        self.message = ""

    def record_counts(self, result: RunResult) -> None:
        """Copy the counts of a finished run onto the job."""
        self.total_rows = result.total
        self.new_rows = result.new
        self.updated_rows = result.updated
        self.unchanged_rows = result.unchanged
        self.invalid_rows = result.invalid
        self.progress_done = self.progress_total = result.total

    @fsm.transition(field=state, source=JobState.CREATED, target=JobState.PREVIEW_IN_PROGRESS)
    def start_preview(self) -> None:
        """Mark the preview as running (the preview task calls this)."""
        self.reset_results()
        self.preview_started_at = self.heartbeat_at = timezone.now()
        self.preview_finished_at = None
        self.attempts = 1

    @fsm.transition(
        field=state, source=JobState.PREVIEW_IN_PROGRESS, target=JobState.PREVIEW_IN_PROGRESS
    )
    def restart_preview(self) -> None:
        """Start the preview again from the start: the task of its last attempt died."""
        self.reset_results()
        self.preview_started_at = self.heartbeat_at = timezone.now()
        self.attempts += 1

    @fsm.transition(
        field=state, source=JobState.PREVIEW_IN_PROGRESS, target=JobState.PREVIEW_SUCCEEDED
    )
    def succeed_preview(self, result: RunResult) -> None:
        """Record a finished preview."""
        self.record_counts(result)
        self.preview_finished_at = timezone.now()

    @fsm.transition(
        field=state,
        source=(JobState.CREATED, JobState.PREVIEW_IN_PROGRESS),
        target=JobState.PREVIEW_FAILED,
    )
    def fail_preview(self, message: str) -> None:
        """Record a preview that could not read or check the file."""
        self.message = messages.clean(message)
        self.preview_finished_at = timezone.now()

    @fsm.transition(field=state, source=RERUN_STATES, target=JobState.CREATED)
    def reset_preview(self) -> None:
        """Go back to CREATED so the preview runs again (maybe on a new file).

        Allowed once a preview has finished, and after a failed import: nothing of it was
        written and the file is still there, so it can be previewed and confirmed again.
        """
        self.reset_results()
        self.preview_started_at = self.preview_finished_at = None
        self.import_started_at = self.import_finished_at = None
        self.attempts = 0

    def can_start_import(self) -> bool:
        """Return True when the preview allows the import: no invalid rows, or forced."""
        return self.force_import or not self.invalid_rows

    @fsm.transition(
        field=state,
        source=JobState.PREVIEW_SUCCEEDED,
        target=JobState.IMPORT_IN_PROGRESS,
        conditions=[can_start_import],  # type: ignore[list-item]  # called with this model
    )
    def start_import(self, user: Any = None) -> None:
        """Take the target's lock and mark the import as running (``actions.confirm_import``)."""
        self.confirmed_by = user if user is not None and user.is_authenticated else None
        self.import_started_at = self.import_finished_at = None
        self.written_pks = None
        self.heartbeat_at = timezone.now()
        self.progress_done = 0
        self.progress_total = self.total_rows
        self.message = ""
        self.attempts = 0

    @fsm.transition(
        field=state, source=JobState.IMPORT_IN_PROGRESS, target=JobState.IMPORT_IN_PROGRESS
    )
    def begin_import(self) -> None:
        """Mark the import as started by its task (``attempts`` counts the tasks that did)."""
        self.import_started_at = self.heartbeat_at = timezone.now()
        self.progress_done = 0
        self.attempts += 1

    @fsm.transition(
        field=state, source=JobState.IMPORT_IN_PROGRESS, target=JobState.IMPORT_SUCCEEDED
    )
    def succeed_import(self, result: RunResult) -> None:
        """Record a finished import; this releases the target's lock."""
        self.record_counts(result)
        self.written_pks = result.written_pks
        self.import_finished_at = timezone.now()

    @fsm.transition(field=state, source=JobState.IMPORT_IN_PROGRESS, target=JobState.IMPORT_FAILED)
    def fail_import(self, message: str) -> None:
        """Record a failed import (nothing was written); this releases the target's lock."""
        self.message = messages.clean(message)
        self.import_finished_at = timezone.now()

    @fsm.transition(field=state, source=CANCELLABLE_STATES, target=JobState.CANCELLED)
    def cancel(self) -> None:
        """Mark the job as cancelled."""
        self.cancelled_at = timezone.now()
