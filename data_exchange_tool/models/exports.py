"""
``ExportJob``: one tracked export of a target model's rows to a CSV or XLSX file.

The mirror of ``ImportJob``: one concrete table, and a *job type* per target, a proxy subclass
that names the target model. By default an export type writes the columns of the import job type
of the same target (its serializer), so a file exported from a target imports back unchanged. The
rows can be narrowed with a django-filter ``FilterSet``; the filter parameters are stored on the
job and checked when it is created, so a bad filter is refused at once rather than failing later.
"""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

import django_fsm as fsm
from django.conf import settings  # noqa: TID251 - AUTH_USER_MODEL, as Django's own models
from django.db import models
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from data_exchange_tool import messages
from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import ConfigurationError, ExportFilterError
from data_exchange_tool.models.base import (
    BaseJob,
    JobManager,
    JobQuerySet,
    resolve_class,
)
from data_exchange_tool.registry import job_types
from data_exchange_tool.states import ExportState
from data_exchange_tool.storage import get_storage

if TYPE_CHECKING:
    from django_filters import FilterSet
    from rest_framework import serializers

USER_MODEL = settings.AUTH_USER_MODEL

#: Formats an export can write, with their file extensions.
EXPORT_FORMATS = {"csv": ".csv", "xlsx": ".xlsx"}


class ExportJobQuerySet(JobQuerySet):
    """Queries over export jobs."""

    def running(self) -> ExportJobQuerySet:
        """Return the exports whose task is running."""
        return self.filter(state=ExportState.EXPORT_IN_PROGRESS)


class ExportJobManager(JobManager.from_queryset(ExportJobQuerySet)):  # type: ignore[misc]
    """On a job type, see only the jobs of that type; on ``ExportJob``, see every job."""


def filters_querydict(filters: dict[str, Any] | None) -> QueryDict:
    """Return stored filter parameters (``{name: value or [values]}``) as a ``QueryDict``."""
    data = QueryDict(mutable=True)
    for name, value in (filters or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        data.setlist(str(name), ["" if v is None else str(v) for v in values])
    return data


def param_names(name: str, field: Any) -> list[str]:
    """Return the query parameters a FilterSet form field reads: its name, or one per part.

    django-filter's range widgets read ``<name>_<suffix>`` (``price_min``, ``created_after``);
    Django's multi-widgets read ``<name><widgets_name>``.
    """
    widget = field.widget
    suffixes = getattr(widget, "suffixes", None)
    if suffixes:
        return [f"{name}_{suffix}" if suffix else name for suffix in suffixes]
    names = getattr(widget, "widgets_names", None)
    if names and len(getattr(widget, "widgets", ())) > 1:
        return [f"{name}{suffix}" for suffix in names]
    return [name]


def _split_filter_name(name: str, fields: dict[str, Any]) -> tuple[str, str]:
    """Return ``(field name, part)`` of a query parameter (``price``, ``min`` of a range)."""
    if name in fields:
        return name, ""
    for field_name, field in fields.items():
        if name in param_names(field_name, field):
            return field_name, name[len(field_name) :].strip("_")
    return name, ""


def _display_value(field: Any, value: Any) -> str:
    """Return a stored filter value as a person reads it (a choice by its label)."""
    values = value if isinstance(value, list | tuple) else [value]
    # A model choice (its queryset may be large) shows the value as the filter reads it.
    choices = None if hasattr(field, "queryset") else getattr(field, "choices", None)
    labels = {}
    if choices is not None:
        try:
            labels = {
                str(key): str(label) for key, label in choices if str(key) in map(str, values)
            }
        except (TypeError, ValueError):  # grouped or lazy choices: show the values
            labels = {}
    return ", ".join(labels.get(str(v), str(v)) for v in values)


def filters_from_querydict(data: Any, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return query parameters as storable filters: one value as is, several as a list."""
    filters: dict[str, Any] = {}
    for name in data:
        if name in ignore:
            continue
        values = data.getlist(name) if hasattr(data, "getlist") else [data[name]]
        filters[name] = values[0] if len(values) == 1 else list(values)
    return filters


class ExportJob(BaseJob):
    """
    One tracked export of a target model's rows to a file in the job storage.

    Declare a job type as a proxy with the target model; the columns come from the import job
    type of the same target unless ``serializer_class`` is given::

        class StockRecordExportJob(ExportJob):
            class Meta:
                proxy = True
                target_model = StockRecord
                filterset_class = "shop.filters.StockRecordFilterSet"   # optional
                file_format = "xlsx"                                     # default "csv"

    Each option can also be a class attribute, and each has a ``get_<option>()`` hook.
    ``actions.start_export(StockRecordExportJob, filters={...}, user=user)`` checks the filters,
    creates the job and sends its task once the transaction commits.
    """

    #: Names a job type may declare in ``Meta`` (moved to class attributes by the metaclass).
    job_options: ClassVar[tuple[str, ...]] = (
        "target_model",
        "serializer_class",
        "filterset_class",
        "file_format",
        "chunk_size",
        "many_separator",
    )
    #: The model rows are read from: a model class or ``"app_label.ModelName"``.
    target_model: ClassVar[Any] = None
    #: The DRF serializer that renders one row (its fields are the columns). ``None``: the
    #: serializer of the import job type of the same target, so both agree on the columns.
    serializer_class: ClassVar[Any] = None
    #: A django-filter ``FilterSet`` (class or dotted path) the stored filters go through.
    filterset_class: ClassVar[Any] = None
    #: ``"csv"`` or ``"xlsx"``: the format of jobs created without one.
    file_format: ClassVar[str] = "csv"
    #: Rows fetched from the database at a time; ``None``: ``DATA_EXCHANGE_BATCH_SIZE``.
    chunk_size: ClassVar[int | None] = None
    #: What joins the items of a many-to-many cell; ``None``: the import job type's (the one
    #: whose columns are borrowed), else ``DATA_EXCHANGE_MANY_SEPARATOR``.
    many_separator: ClassVar[str | None] = None
    #: The permissions each job type adds beside add/change/delete/view (no confirm step here).
    job_permissions: ClassVar[tuple[str, ...]] = ("view_all",)

    state = fsm.FSMField(
        _("state"),
        max_length=32,
        choices=ExportState.choices,
        default=ExportState.CREATED,
        protected=True,
        db_index=True,
    )
    format = models.CharField(
        _("format"), max_length=8, choices=[(k, k.upper()) for k in EXPORT_FORMATS], blank=True
    )
    filters = models.JSONField(
        _("filters"), default=dict, blank=True, help_text=_("The FilterSet's parameters.")
    )
    file = models.FileField(_("file"), storage=get_storage, max_length=500, blank=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_size = models.BigIntegerField(_("file size"), null=True, blank=True)

    created_by = models.ForeignKey(
        USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    task_id = models.CharField(_("task"), max_length=255, blank=True)
    queue = models.CharField(
        _("queue"),
        max_length=255,
        blank=True,
        help_text=_("The queue the export task ran from."),
    )

    objects = ExportJobManager()

    class Meta:
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")
        ordering = ("-created_at", "-id")
        permissions = (("view_all_exportjob", "Can view every user's export jobs of every type"),)

    def __str__(self) -> str:
        return gettext("%(type)s #%(id)s (%(file)s)") % {
            "type": self._meta.verbose_name,
            "id": self.pk,
            "file": self.file_name or self.get_format().upper(),
        }

    # --- creating ------------------------------------------------------------------------

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Fill the job type of a new export and check its format and filters.

        :raises ExportFilterError: the format or a filter is not valid; nothing is saved.
        """
        if self._state.adding:
            self._fill_job_type()
            self.format = self.get_format()
            self.filter_queryset(self.get_target_model()._default_manager.none())
        super().save(*args, **kwargs)

    # --- options and hooks ---------------------------------------------------------------

    @classmethod
    def get_serializer_class(cls) -> type[serializers.Serializer]:
        """Return the serializer whose fields are the columns (the import type's by default)."""
        if cls.serializer_class is not None:
            return resolve_class(cls.serializer_class, cls, "serializer_class")
        import_type = cls.import_job_type()
        if import_type is not None:
            return import_type.get_serializer_class()
        model = cls.get_target_model()
        raise ConfigurationError(
            f"{cls.__name__} needs Meta.serializer_class: no import job type reads "
            f"{model._meta.label}, so there are no columns to borrow."
        )

    @classmethod
    def import_job_type(cls) -> Any:
        """Return the first import job type of the same target (whose columns are borrowed)."""
        from data_exchange_tool.models.jobs import ImportJob

        model = cls.get_target_model()
        for import_type in job_types(ImportJob):
            if import_type.target_model is not None and import_type.get_target_model() is model:
                return import_type
        return None

    @classmethod
    def get_many_separator(cls) -> str:
        """Return what joins the items of a many-to-many cell (as the import splits them)."""
        if cls.many_separator:
            return str(cls.many_separator)
        import_type = cls.import_job_type() if cls.serializer_class is None else None
        if import_type is not None:
            return import_type.get_many_separator()
        return str(app_settings.MANY_SEPARATOR)

    def get_serializer(self) -> serializers.Serializer:
        """Return the serializer that renders rows (one for the whole run)."""
        return self.get_serializer_class()(context=self.get_serializer_context())

    def get_serializer_context(self) -> dict[str, Any]:
        """Return the context given to the serializer; it holds the job."""
        return {"job": self}

    @classmethod
    def get_filterset_class(cls) -> type[FilterSet] | None:
        """Return the FilterSet class of this job type, or None when rows are not filtered."""
        if cls.filterset_class is None:
            return None
        return resolve_class(cls.filterset_class, cls, "filterset_class")

    @classmethod
    def filter_names(cls) -> set[str]:
        """Return the query parameters the FilterSet reads (``price_min``, a range's ``_after``)."""
        filterset_class = cls.get_filterset_class()
        if filterset_class is None:
            return set()
        names: set[str] = set()
        for name, field in filterset_class().form.fields.items():
            names.update(param_names(name, field))
        return names

    def get_format(self) -> str:
        """Return the job's format (``"csv"`` or ``"xlsx"``), or raise for an unknown one."""
        file_format = (self.format or type(self).file_format or "csv").lower()
        if file_format not in EXPORT_FORMATS:
            raise ExportFilterError(
                gettext("Unknown export format %(format)r: use csv or xlsx.")
                % {"format": file_format},
                {"format": [gettext("Use csv or xlsx.")]},
            )
        return file_format

    def get_chunk_size(self) -> int:
        """Return how many rows are fetched from the database at a time."""
        return int(type(self).chunk_size or app_settings.BATCH_SIZE)

    def get_queryset(self) -> models.QuerySet:
        """Return every row this job type may export, before the filters.

        Override to narrow the rows or to add annotations. The export adds ``select_related``
        for the columns' related fields and orders by pk itself.
        """
        return self.get_target_model()._default_manager.all()

    def filter_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        """Apply the stored filters through the FilterSet, or raise ``ExportFilterError``.

        A filter the FilterSet does not read is refused (a misspelt name would otherwise export
        every row), for every interface alike: the admin, the API and the command.
        """
        filterset_class = self.get_filterset_class()
        if filterset_class is None:
            if self.filters:
                raise ExportFilterError(
                    gettext("%(type)s takes no filters (it has no filterset_class): %(names)s.")
                    % {"type": type(self).__name__, "names": ", ".join(sorted(self.filters))},
                    {name: [str(gettext("Unknown filter."))] for name in self.filters},
                )
            return queryset
        self.check_filter_names()
        filterset = filterset_class(data=filters_querydict(self.filters), queryset=queryset)
        if not filterset.is_valid():
            errors = {name: [str(m) for m in msgs] for name, msgs in filterset.errors.items()}
            detail = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items())
            raise ExportFilterError(
                gettext("Invalid export filters: %(detail)s") % {"detail": detail}, errors
            )
        return filterset.qs

    def check_filter_names(self) -> None:
        """Raise ``ExportFilterError`` naming the stored filters the FilterSet does not read."""
        known = type(self).filter_names()
        unknown = sorted(set(self.filters or {}) - known)
        if unknown:
            message = gettext("Unknown export filter(s) %(unknown)s: use %(known)s.") % {
                "unknown": ", ".join(unknown),
                "known": ", ".join(sorted(known)),
            }
            raise ExportFilterError(
                message,
                {
                    name: [
                        str(
                            gettext("Unknown filter: use one of %(known)s.")
                            % {"known": ", ".join(sorted(known))}
                        )
                    ]
                    for name in unknown
                },
            )

    @classmethod
    def describe_filters(cls, filters: dict[str, Any] | None) -> list[tuple[str, str]]:
        """Return the stored filters as ``(label, value)`` a person reads, in the FilterSet's order.

        A range's parts (``price_min`` / ``_after``) are labelled with their filter's label and
        the suffix; a value that names an object through a choice field shows that object.
        """
        filterset_class = cls.get_filterset_class()
        if not filters:
            return []
        if filterset_class is None:
            return [(name, str(value)) for name, value in filters.items()]
        form = filterset_class(data=filters_querydict(filters)).form
        described = []
        for name, value in filters.items():
            field_name, suffix = _split_filter_name(name, form.fields)
            field = form.fields.get(field_name)
            label = str(field.label) if field is not None and field.label else name
            if suffix:
                label = f"{label} ({suffix.strip('_')})"
            described.append((label, _display_value(field, value)))
        return described

    def get_export_queryset(self) -> models.QuerySet:
        """Return the rows to export, filtered and ordered by pk.

        Rows start from ``get_queryset()``, narrowed to the selected rows when the job names
        them (``options["pks"]``: the admin's export of ticked rows, or of a changelist whose
        filters the FilterSet does not know), then the stored filters go through the FilterSet.
        """
        queryset = self.get_queryset()
        if self.options.get("pks") is not None:
            queryset = queryset.filter(pk__in=self.options["pks"])
        return self.filter_queryset(queryset).order_by("pk")

    def get_file_name(self) -> str:
        """Return the name of the file: target, timestamp and a short id, such as
        ``demo-stockrecord_20250102-153000_1a2b3c4d.csv``."""
        meta = self.get_target_model()._meta
        stamp = (self.started_at or timezone.now()).strftime("%Y%m%d-%H%M%S")
        short = uuid.uuid4().hex[:8]
        return f"{meta.app_label}-{meta.model_name}_{stamp}_{short}{EXPORT_FORMATS[self.format]}"

    def get_storage_name(self, file_name: str) -> str:
        """Return where the file is stored (relative to the job storage)."""
        label = self.job_type.replace(".", "_")
        day = (self.started_at or timezone.now()).strftime("%Y/%m/%d")
        return f"data_exchange/exports/{label}/{day}/{file_name}"

    # --- metadata -------------------------------------------------------------------------

    @property
    def duration(self) -> datetime.timedelta | None:
        """Return how long the export ran (so far, while it runs)."""
        if self.started_at is None:
            return None
        end = self.finished_at or self.cancelled_at or timezone.now()
        return end - self.started_at

    # --- transitions ----------------------------------------------------------------------

    @fsm.transition(field=state, source=ExportState.CREATED, target=ExportState.EXPORT_IN_PROGRESS)
    def start_export(self) -> None:
        """Mark the export as running (the export task calls this)."""
        self.started_at = self.heartbeat_at = timezone.now()
        self.finished_at = None
        self.progress_done = self.progress_total = 0
        self.message = ""
        self.attempts = 1

    @fsm.transition(
        field=state, source=ExportState.EXPORT_IN_PROGRESS, target=ExportState.EXPORT_IN_PROGRESS
    )
    def restart_export(self) -> None:
        """Start the export again from the start: the task of its last attempt died."""
        self.started_at = self.heartbeat_at = timezone.now()
        self.progress_done = self.progress_total = 0
        self.attempts += 1

    @fsm.transition(
        field=state, source=ExportState.EXPORT_IN_PROGRESS, target=ExportState.EXPORT_SUCCEEDED
    )
    def succeed_export(self, name: str, file_name: str, size: int, rows: int) -> None:
        """Record the written file."""
        self.file.name = name
        self.file_name = file_name
        self.file_size = size
        self.total_rows = self.progress_done = self.progress_total = rows
        self.finished_at = timezone.now()

    @fsm.transition(
        field=state,
        source=(ExportState.CREATED, ExportState.EXPORT_IN_PROGRESS),
        target=ExportState.EXPORT_FAILED,
    )
    def fail_export(self, message: str) -> None:
        """Record why the export failed (no file is kept)."""
        self.message = messages.clean(message)
        self.finished_at = timezone.now()

    @fsm.transition(
        field=state,
        source=(ExportState.CREATED, ExportState.EXPORT_IN_PROGRESS),
        target=ExportState.CANCELLED,
    )
    def cancel(self) -> None:
        """Mark the job as cancelled; a running task stops at its next chunk."""
        self.cancelled_at = timezone.now()
