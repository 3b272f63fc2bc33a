"""
The admin of exports: an export action for a target's changelist, and pages for export jobs.

``ExportActionMixin`` goes on the target model's ``ModelAdmin``. It adds the actions "Export to
CSV", "Export to CSV for Excel" (semicolons and a BOM) and "Export to XLSX" and sends the user to
the export's page. The job records which rows:

- ticked rows: their pks;
- "Select all N" with the changelist filtered only by parameters the export type's FilterSet knows
  (same names): those parameters, as the job's filters;
- "Select all N" with other filters or a search: the pks of the rows the changelist shows, up to
  ``max_selected_rows`` (beyond it the export is refused, naming the filters to add to the
  FilterSet). The task never runs admin code::

    @admin.register(StockRecord)
    class StockRecordAdmin(ExportActionMixin, admin.ModelAdmin):
        list_filter = ("partner",)

``ExportJobAdmin`` is registered for an export job type: a list of that type's exports (a user's
own, unless they hold ``view_all``) with a live progress bar, size, rows, duration and a download
link; a read-only page per export; an add page that starts an export with FilterSet filters.
Permissions, per job type (or for every export type through ``ExportJob``'s own): ``add`` starts
an export (and allows the changelist actions), ``view`` sees the exports, ``view_all`` every
user's. A download is a redirect to a short-lived S3 URL where S3 is used, else the file itself.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from data_exchange_tool import actions, permissions, progress
from data_exchange_tool.admin.display import (
    JobPageMixin,
    number,
    progress_bar,
    progress_detail,
    progress_payload,
    state_badge,
    task_steps,
    who_and_when,
)
from data_exchange_tool.downloads import export_file_response
from data_exchange_tool.exceptions import (
    ConfigurationError,
    ExportFilterError,
    TransitionRefusedError,
)
from data_exchange_tool.models import ExportJob
from data_exchange_tool.models.exports import param_names
from data_exchange_tool.registry import job_types
from data_exchange_tool.states import ExportState

#: States an export page keeps polling in: the task is queued or running.
EXPORT_POLLING_STATES = (ExportState.CREATED, ExportState.EXPORT_IN_PROGRESS)
#: Changelist parameters that select a page or a view, not rows.
PAGE_PARAMS = ("p", "all", "o", "e", "_changelist_filters", "_to_field", "_popup")


def changelist_params(query: Any) -> dict[str, list[str]]:
    """Return the changelist's query parameters that select rows (``{name: [values]}``)."""
    return {name: query.getlist(name) for name in query if name not in PAGE_PARAMS}


def export_state_badge(state: str) -> SafeString:
    """Return a coloured badge naming an export's state."""
    return state_badge(state, ExportState)


def export_progress_bar(job: ExportJob, url: str = "") -> SafeString:
    """Return a progress bar; with ``url`` it polls that JSON endpoint while the export runs."""
    return progress_bar(job.state, progress.percent(job), url, polling_states=EXPORT_POLLING_STATES)


class ExportStartForm(forms.Form):
    """What an export needs besides its filters: the format (chosen, never assumed), and for CSV
    the BOM and the delimiter (European Excel reads ``;``)."""

    format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=(("csv", gettext_lazy("CSV")), ("xlsx", gettext_lazy("XLSX (Excel workbook)"))),
        widget=forms.RadioSelect,
    )
    bom = forms.BooleanField(
        required=False,
        label=gettext_lazy("CSV with a BOM"),
        help_text=gettext_lazy("Lets Excel read accents in a CSV file."),
    )
    delimiter = forms.ChoiceField(
        required=False,
        label=gettext_lazy("CSV delimiter"),
        choices=(
            (",", gettext_lazy("Comma ,")),
            (";", gettext_lazy("Semicolon ; (European Excel)")),
            ("\t", gettext_lazy("Tab")),
            ("|", gettext_lazy("Pipe |")),
        ),
        initial=",",
    )


def file_options(data: dict[str, Any]) -> dict[str, Any]:
    """Return the export's file options from the start form's cleaned data (BOM, delimiter)."""
    options: dict[str, Any] = {"bom": True} if data.get("bom") else {}
    if data.get("delimiter") not in (None, "", ","):
        options["delimiter"] = data["delimiter"]
    return options


def chosen_filters(filterset: Any, names: set[str]) -> dict[str, Any]:
    """Return the filters a valid FilterSet form was given, as stored query parameters.

    A filter left empty (or "unknown" on a yes/no choice) is no filter. The values kept are the
    texts the form received, so the job stores what the FilterSet reads from a query string.
    """
    form = filterset.form
    data = form.data
    filters: dict[str, Any] = {}
    for field_name, field in form.fields.items():
        if form.cleaned_data.get(field_name) in EMPTY_FILTER_VALUES:
            continue
        for param in param_names(field_name, field):
            if param not in names:
                continue
            values = [v for v in data.getlist(form.add_prefix(param)) if v != ""]
            if values:
                filters[param] = values[0] if len(values) == 1 else values
    return filters


#: Cleaned values of a filter field that mean "no filter".
EMPTY_FILTER_VALUES: tuple[Any, ...] = (None, "", [], (), {}, slice(None, None))


class ExportJobAdmin(JobPageMixin, admin.ModelAdmin):
    """The admin of one export job type: start, follow and download exports."""

    #: The template of the page that starts an export, and of an export's page.
    add_template: ClassVar[str] = "admin/data_exchange_tool/export_add.html"
    job_template: ClassVar[str] = "admin/data_exchange_tool/export_job.html"
    #: Seconds between two polls of the progress endpoint while the export runs.
    poll_interval: ClassVar[float] = 1.5
    list_display = (
        "id",
        "state_display",
        "rows_display",
        "download_link",
        "duration_display",
        "requested_display",
    )
    list_filter = ("state", "format", "created_at")
    actions = ("cancel_selected",)

    class Media:
        css: ClassVar[dict[str, tuple[str, ...]]] = {"all": ("data_exchange_tool/admin.css",)}
        js = ("data_exchange_tool/progress.js",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Return True when the user may see this type's exports (their own at least)."""
        return permissions.can_read(request.user, self.model)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Return True when the user may start exports of this type."""
        return permissions.can_start(request.user, self.model)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an export is never edited: pages are read-only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Return True for users holding ``delete``, except for a running export."""
        if obj is not None and obj.state == ExportState.EXPORT_IN_PROGRESS:
            return False
        return permissions.has_job_permission(request.user, self.model, "delete")

    def has_cancel_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Return True when the user may cancel exports (``obj``: this one) of this type."""
        if obj is not None:
            return permissions.can_cancel(request.user, obj)
        return permissions.has_job_permission(request.user, self.model, "add", "change")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Return this type's exports the user may see: all of them, or only their own."""
        queryset = super().get_queryset(request).select_related("created_by")
        return permissions.visible_jobs(queryset, request.user, self.model)

    # --- columns -------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("state"), ordering="state")
    def state_display(self, obj: ExportJob) -> str:
        """Return the state as a coloured badge, with a live progress bar below while it runs."""
        if obj.state not in EXPORT_POLLING_STATES:
            return export_state_badge(obj.state)
        return format_html("{}{}", export_state_badge(obj.state), self.progress_display(obj))

    @admin.display(description=gettext_lazy("format"), ordering="format")
    def format_display(self, obj: ExportJob) -> str:
        """Return the file format in capitals."""
        return (obj.format or "").upper()

    @admin.display(description=gettext_lazy("rows"), ordering="total_rows")
    def rows_display(self, obj: ExportJob) -> str:
        """Return the rows written, grouped by thousands."""
        return number(obj.total_rows)

    @admin.display(description=gettext_lazy("progress"))
    def progress_display(self, obj: ExportJob) -> str:
        """Return a progress bar that stays live while the export runs."""
        return export_progress_bar(obj, self.view_url("progress", obj))

    @admin.display(description=gettext_lazy("size"), ordering="file_size")
    def size_display(self, obj: ExportJob) -> str:
        """Return the file's size for people."""
        return filesizeformat(obj.file_size) if obj.file_size is not None else "—"

    @admin.display(description=gettext_lazy("duration"))
    def duration_display(self, obj: ExportJob) -> str:
        """Return how long the export ran, in seconds."""
        duration = obj.duration
        if duration is None:
            return "—"
        return _("%(seconds)s s") % {"seconds": f"{duration.total_seconds():.1f}"}

    @admin.display(description=gettext_lazy("requested"), ordering="created_at")
    def requested_display(self, obj: ExportJob) -> str:
        """Return who asked for the export and when, short enough for a narrow screen."""
        return who_and_when(obj.created_by, obj.created_at)

    @admin.display(description=gettext_lazy("file"))
    def download_link(self, obj: ExportJob) -> str:
        """Return the format and, once the file is written, a download link and its size."""
        if obj.state != ExportState.EXPORT_SUCCEEDED:
            return self.format_display(obj)
        return format_html(
            '<a href="{}" class="dxt-download-link">{}</a><br><span class="dxt-when">{}, {}</span>',
            self.view_url("download", obj),
            _("Download"),
            self.format_display(obj),
            self.size_display(obj),
        )

    # --- starting an export (the add page) -------------------------------------------------

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Start an export: its format, and its filters in the FilterSet's own fields."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form = ExportStartForm(data)
        filterset = self.get_filterset(request, data)
        refusal = ""
        if data is not None and form.is_valid() and (filterset is None or filterset.is_valid()):
            try:
                job = self.start_export(request, form.cleaned_data, filterset)
            except ExportFilterError as exc:
                refusal = exc.message
            else:
                self.message_user(
                    request, _("%(job)s has started.") % {"job": job}, messages.SUCCESS
                )
                return redirect(self.view_url("change", job))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "title": _("Start an export: %(type)s") % {"type": self.opts.verbose_name},
            "form": form,
            "filter_form": filterset.form if filterset is not None else None,
            "refusal": refusal,
            "media": self.media
            + form.media
            + (filterset.form.media if filterset else forms.Media()),
            "has_view_permission": self.has_view_permission(request),
            "changelist_url": self.view_url("changelist"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.add_template, context)

    def get_filterset(self, request: HttpRequest, data: Any) -> Any:
        """Return the job type's FilterSet over no rows (its form is the filters' form)."""
        filterset_class = self.model.get_filterset_class()
        if filterset_class is None:
            return None
        queryset = self.model.get_target_model()._default_manager.none()
        return filterset_class(data=data, queryset=queryset, prefix="filter")

    def start_export(self, request: HttpRequest, data: dict[str, Any], filterset: Any) -> ExportJob:
        """Start the export the add page describes (``ExportFilterError`` when refused)."""
        filters = chosen_filters(filterset, self.model.filter_names()) if filterset else {}
        return actions.start_export(
            self.model,
            filters=filters,
            file_format=data["format"],
            user=request.user,
            options=file_options(data),
        )

    # --- an export's page ------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Show an export: state, progress, rows, size, duration, filters and the download."""
        job = self.get_job(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "title": str(job),
            "job": job,
            "original": job,
            "media": self.media,
            "has_view_permission": True,
            "state_badge": export_state_badge(job.state),
            "show_progress": True,
            "steps": task_steps(job),
            "progress_bar": export_progress_bar(job, self.view_url("progress", job)),
            "progress_detail": progress_detail(job),
            "duration": self.duration_display(job),
            "filters": job.describe_filters(job.filters),
            "changelist_filters": describe_changelist(
                job.get_target_model(), (job.options or {}).get("changelist", {}).get("params", {})
            ),
            "selected_rows": len((job.options or {}).get("pks") or []),
            "download_url": self.view_url("download", job)
            if job.state == ExportState.EXPORT_SUCCEEDED
            else "",
            "changelist_url": self.view_url("changelist"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.job_template, context)

    # --- views ---------------------------------------------------------------------------

    def view_url(self, name: str, obj: ExportJob | None = None) -> str:
        """Return the URL of one of this admin's views (for ``obj`` when given)."""
        opts = self.opts
        args = [obj.pk] if obj is not None else []
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{name}",
            args=args,
            current_app=self.admin_site.name,
        )

    def get_urls(self) -> list[URLPattern]:
        """Add the progress and download views before the admin's own URLs."""
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/progress/",
                wrap(require_safe(self.progress_view)),
                name=f"{prefix}_progress",
            ),
            path(
                "<path:object_id>/download/",
                wrap(require_safe(self.download_view)),
                name=f"{prefix}_download",
            ),
            *super().get_urls(),
        ]

    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """Return the export's state and progress as JSON (polled by the pages)."""
        job = self.get_job(request, object_id)
        return JsonResponse(progress_payload(job, EXPORT_POLLING_STATES))

    def download_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """Send the file: a redirect to a short-lived S3 URL, or the file itself."""
        job = self.get_job(request, object_id)
        if job.state != ExportState.EXPORT_SUCCEEDED or not job.file.name:
            raise Http404(_("This export has no file."))
        return export_file_response(job)

    @admin.action(description=gettext_lazy("Cancel the selected exports"), permissions=("cancel",))
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Cancel the selected exports that have not finished."""
        for job in queryset:
            if not self.has_cancel_permission(request, job):
                self.message_user(
                    request,
                    _("Export #%(id)s: not yours to cancel.") % {"id": job.pk},
                    messages.ERROR,
                )
                continue
            try:
                actions.cancel_export(job)
            except TransitionRefusedError as exc:
                self.message_user(
                    request,
                    _("Export #%(id)s: %(reason)s") % {"id": job.pk, "reason": exc},
                    messages.ERROR,
                )
            else:
                self.message_user(request, _("Export #%(id)s is cancelled.") % {"id": job.pk})


#: The lookups a changelist parameter may end with (not part of the field path).
LOOKUP_WORDS = {
    "exact", "iexact", "in", "gt", "gte", "lt", "lte", "isnull", "contains", "icontains",
    "startswith", "istartswith", "endswith", "iendswith", "range", "year", "month", "day",
    "date",
}  # fmt: skip


def describe_changelist(model: type[Model], params: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Return a changelist's row-selecting parameters as ``(label, value)`` a person reads.

    ``partner__id__exact=2`` reads "Partner: ACME"; a search (``q``) reads "Search: …";
    a parameter that names no field is shown as it is.
    """
    described = []
    for name, values in params.items():
        if name == "q":
            described.append((str(_("Search")), " ".join(values)))
            continue
        described.append(describe_lookup(model, name, values))
    return described


def describe_lookup(model: type[Model], name: str, values: list[str]) -> tuple[str, str]:
    """Return ``(label, value)`` of one changelist lookup (``partner__id__exact``)."""
    parts = [p for p in name.split("__") if p not in LOOKUP_WORDS]
    try:
        fields = get_fields_from_path(model, "__".join(parts))
    except (FieldDoesNotExist, Exception):  # not a field path: show it as it is
        return name, ", ".join(values)
    relation = next((f for f in fields if f.is_relation), None)
    label = " / ".join(capfirst(str(getattr(f, "verbose_name", f.name))) for f in fields)
    shown = [v for value in values for v in value.split(",")]
    if (
        relation is not None
        and relation.related_model is not None
        and (fields[-1] is relation or fields[-1].primary_key)
    ):
        related = relation.related_model._default_manager.filter(pk__in=shown)
        try:
            names = {str(obj.pk): str(obj) for obj in related[:50]}
        except (ValueError, TypeError):
            names = {}
        label = capfirst(str(relation.verbose_name))
        shown = [names.get(v, v) for v in shown]
    if name.endswith("__isnull"):
        shown = [_("empty") if v in ("1", "True", "true") else _("not empty") for v in shown]
    return label, ", ".join(shown)


class ExportActionMixin:
    """Add "Export to CSV" (also for Excel: ``;`` and a BOM) and "Export to XLSX" actions to a
    target model's ``ModelAdmin``."""

    #: The export job type to start; ``None``: the only one whose target is this model.
    export_job_type: ClassVar[type[ExportJob] | None] = None
    #: The formats offered as actions (``csv_excel``: semicolons and a BOM).
    export_formats: ClassVar[tuple[str, ...]] = ("csv", "csv_excel", "xlsx")
    #: The most rows an export of a changelist filtered by admin-only filters may select.
    max_selected_rows: ClassVar[int] = 100_000

    def get_export_job_type(self) -> type[ExportJob]:
        """Return the export job type of this admin's model, or raise naming the fix."""
        if self.export_job_type is not None:
            return self.export_job_type
        model = self.model  # type: ignore[attr-defined]
        found = [t for t in job_types(ExportJob) if t.get_target_model() is model]
        if len(found) != 1:
            raise ConfigurationError(
                f"{type(self).__name__} needs export_job_type: {len(found)} export job types "
                f"read {model._meta.label}."
            )
        return found[0]

    def has_export_permission(self, request: HttpRequest) -> bool:
        """Return True when the user may start exports of this model."""
        return permissions.can_start(request.user, self.get_export_job_type())

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        """Add the export actions to the changelist's for users who may export.

        Django 6.1 asks for the actions of a location (the changelist or the change form) and
        warns about an override without ``action_location``; 5.2 asks for the changelist's only.
        """
        extra = {} if action_location is None else {"action_location": action_location}
        actions = super().get_actions(request, **extra)  # type: ignore[misc]
        on_changelist = action_location is None or action_location.name == "CHANGE_LIST"
        if on_changelist and self.has_export_permission(request):
            for file_format in self.export_formats:
                name = f"export_as_{file_format}"
                actions[name] = self.get_action(name)  # type: ignore[attr-defined]
        return actions

    @admin.action(description=gettext_lazy("Export to CSV"))
    def export_as_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Export the selected rows (or every filtered row) to CSV."""
        return self.start_export(request, queryset, "csv")

    @admin.action(description=gettext_lazy("Export to CSV for Excel (semicolons, BOM)"))
    def export_as_csv_excel(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Export the selected rows (or every filtered row) to CSV as European Excel reads it."""
        return self.start_export(request, queryset, "csv", {"bom": True, "delimiter": ";"})

    @admin.action(description=gettext_lazy("Export to XLSX"))
    def export_as_xlsx(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Export the selected rows (or every filtered row) to XLSX."""
        return self.start_export(request, queryset, "xlsx")

    def start_export(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        file_format: str,
        file_options: dict[str, Any] | None = None,
    ) -> HttpResponse | None:
        """Start an export of the changelist's rows (see the module docstring); go to its page.

        :param file_options: ``bom`` and ``delimiter`` for a CSV file.
        """
        job_type = self.get_export_job_type()
        params = changelist_params(request.GET)
        known = job_type.filter_names()
        filters = {name: values for name, values in params.items() if name in known}
        unknown = sorted(set(params) - known)
        options: dict[str, Any] = {"changelist": {"params": params}} if params else {}
        options.update(file_options or {})
        if request.POST.get("select_across") != "1" or unknown:
            pks = list(queryset.values_list("pk", flat=True)[: self.max_selected_rows + 1])
            if len(pks) > self.max_selected_rows:
                self.refuse_selection(request, unknown)
                return None
            options["pks"] = [pk if isinstance(pk, int) else str(pk) for pk in pks]
            filters = {}
        job = actions.start_export(
            job_type,
            filters={name: v[0] if len(v) == 1 else v for name, v in filters.items()},
            file_format=file_format,
            user=request.user,
            options=options,
        )
        return self.after_export_started(request, job)

    def refuse_selection(self, request: HttpRequest, unknown: list[str]) -> None:
        """Say why an export of too many rows selected by admin-only filters is refused."""
        self.message_user(  # type: ignore[attr-defined]
            request,
            _(
                "The export was not started: more than %(count)s rows are selected by filters "
                "the export cannot apply itself (%(filters)s). Use the export's own filters, or "
                "add these to its FilterSet."
            )
            % {"count": number(self.max_selected_rows), "filters": ", ".join(unknown)},
            messages.ERROR,
        )

    def after_export_started(self, request: HttpRequest, job: ExportJob) -> HttpResponse | None:
        """Tell the user and go to the export's page (if its type has an admin)."""
        opts = job._meta
        site = self.admin_site.name  # type: ignore[attr-defined]
        try:
            url = reverse(f"{site}:{opts.app_label}_{opts.model_name}_change", args=[job.pk])
        except NoReverseMatch:
            self.message_user(request, _("Export #%(id)s has started.") % {"id": job.pk})  # type: ignore[attr-defined]
            return None
        self.message_user(  # type: ignore[attr-defined]
            request,
            format_html(
                _('Export #{id} has started: <a href="{url}">follow it</a>.'), id=job.pk, url=url
            ),
        )
        return redirect(url)
