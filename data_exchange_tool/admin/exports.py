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
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_safe

from data_exchange_tool import actions, permissions, progress
from data_exchange_tool.admin.display import JobPageMixin, progress_bar, state_badge
from data_exchange_tool.downloads import export_file_response
from data_exchange_tool.exceptions import (
    ConfigurationError,
    ExportFilterError,
    TransitionRefusedError,
)
from data_exchange_tool.models import ExportJob
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


class ExportJobForm(forms.ModelForm):
    """Start an export: format, filters (the FilterSet's parameters) and the BOM option."""

    bom = forms.BooleanField(required=False, label="CSV with a BOM (for Excel)")
    delimiter = forms.ChoiceField(
        required=False,
        label="CSV delimiter",
        choices=(
            (",", "Comma ,"),
            (";", "Semicolon ; (European Excel)"),
            ("\t", "Tab"),
            ("|", "Pipe |"),
        ),
    )

    class Meta:
        model = ExportJob
        fields = ("format", "filters")
        help_texts = {"filters": 'The FilterSet\'s parameters as JSON, e.g. {"partner": "ACME"}.'}

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.cleaned_data.get("bom"):
            self.instance.options = {**self.instance.options, "bom": True}
        if self.cleaned_data.get("delimiter") not in (None, "", ","):
            self.instance.options = {
                **self.instance.options,
                "delimiter": self.cleaned_data["delimiter"],
            }
        try:
            self.instance.get_format()
            self.instance.filter_queryset(self.instance.get_target_model()._default_manager.none())
        except ExportFilterError as exc:
            self.add_error("filters", exc.message)


class ExportJobAdmin(JobPageMixin, admin.ModelAdmin):
    """The admin of one export job type: start, follow and download exports."""

    form = ExportJobForm
    list_display = (
        "id",
        "state_display",
        "format",
        "total_rows",
        "progress_display",
        "size_display",
        "duration_display",
        "created_by",
        "created_at",
        "download_link",
    )
    list_filter = ("state", "format", "created_at")
    actions = ("cancel_selected",)
    readonly_fields = (
        "state_display",
        "job_type",
        "format",
        "filters",
        "file_name",
        "size_display",
        "total_rows",
        "progress_display",
        "started_at",
        "finished_at",
        "duration_display",
        "message",
        "created_by",
        "created_at",
        "download_link",
    )

    class Media:
        css: ClassVar[dict[str, tuple[str, ...]]] = {"all": ("data_exchange_tool/admin.css",)}
        js = ("data_exchange_tool/progress.js",)

    def get_fields(self, request: HttpRequest, obj: ExportJob | None = None) -> Any:
        return ("format", "filters", "bom", "delimiter") if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: ExportJob | None = None) -> Any:
        return () if obj is None else self.readonly_fields

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

    def save_model(self, request: HttpRequest, obj: ExportJob, form: Any, change: bool) -> None:
        """Start the export: its task is sent once the request's transaction commits."""
        obj.created_by = request.user
        actions.submit_export(obj)

    # --- columns -------------------------------------------------------------------------

    @admin.display(description="state", ordering="state")
    def state_display(self, obj: ExportJob) -> str:
        """Return the state as a coloured badge."""
        return export_state_badge(obj.state)

    @admin.display(description="progress")
    def progress_display(self, obj: ExportJob) -> str:
        """Return a progress bar that stays live while the export runs."""
        return export_progress_bar(obj, self.view_url("progress", obj))

    @admin.display(description="size", ordering="file_size")
    def size_display(self, obj: ExportJob) -> str:
        """Return the file's size for people."""
        return filesizeformat(obj.file_size) if obj.file_size is not None else "-"

    @admin.display(description="duration")
    def duration_display(self, obj: ExportJob) -> str:
        """Return how long the export ran, in seconds."""
        duration = obj.duration
        return "-" if duration is None else f"{duration.total_seconds():.1f} s"

    @admin.display(description="file")
    def download_link(self, obj: ExportJob) -> str:
        """Return a download link once the file is written."""
        if obj.state != ExportState.EXPORT_SUCCEEDED:
            return "-"
        return format_html('<a href="{}">{}</a>', self.view_url("download", obj), obj.file_name)

    # --- views ---------------------------------------------------------------------------

    def view_url(self, name: str, obj: ExportJob) -> str:
        """Return the URL of one of this admin's views for ``obj``."""
        opts = self.opts
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{name}", args=[obj.pk]
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
        return JsonResponse(
            {
                "id": job.pk,
                "state": job.state,
                "state_label": str(ExportState(job.state).label),
                "polling": job.state in EXPORT_POLLING_STATES,
                "percent": progress.percent(job),
                "done": job.progress_done,
                "total": job.progress_total,
            }
        )

    def download_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Send the file: a redirect to a short-lived S3 URL, or the file itself."""
        job = self.get_job(request, object_id)
        if job.state != ExportState.EXPORT_SUCCEEDED or not job.file.name:
            raise Http404("This export has no file.")
        return export_file_response(job)

    @admin.action(description="Cancel the selected exports", permissions=("cancel",))
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Cancel the selected exports that have not finished."""
        for job in queryset:
            if not self.has_cancel_permission(request, job):
                self.message_user(
                    request, f"Export #{job.pk}: not yours to cancel.", messages.ERROR
                )
                continue
            try:
                actions.cancel_export(job)
            except TransitionRefusedError as exc:
                self.message_user(request, f"Export #{job.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Export #{job.pk} is cancelled.")


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

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """Add the export actions for users who may export."""
        actions = super().get_actions(request)  # type: ignore[misc]
        if self.has_export_permission(request):
            for file_format in self.export_formats:
                name = f"export_as_{file_format}"
                actions[name] = self.get_action(name)  # type: ignore[attr-defined]
        return actions

    @admin.action(description="Export to CSV")
    def export_as_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Export the selected rows (or every filtered row) to CSV."""
        return self.start_export(request, queryset, "csv")

    @admin.action(description="Export to CSV for Excel (semicolons, BOM)")
    def export_as_csv_excel(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Export the selected rows (or every filtered row) to CSV as European Excel reads it."""
        return self.start_export(request, queryset, "csv", {"bom": True, "delimiter": ";"})

    @admin.action(description="Export to XLSX")
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
            f"The export was not started: more than {self.max_selected_rows:,} rows are "
            f"selected by filters the export cannot apply itself ({', '.join(unknown)}). "
            "Use the export's own filters, or add these to its FilterSet.",
            messages.ERROR,
        )

    def after_export_started(self, request: HttpRequest, job: ExportJob) -> HttpResponse | None:
        """Tell the user and go to the export's page (if its type has an admin)."""
        opts = job._meta
        site = self.admin_site.name  # type: ignore[attr-defined]
        try:
            url = reverse(f"{site}:{opts.app_label}_{opts.model_name}_change", args=[job.pk])
        except NoReverseMatch:
            self.message_user(request, f"Export #{job.pk} has started.")  # type: ignore[attr-defined]
            return None
        self.message_user(  # type: ignore[attr-defined]
            request, format_html('Export #{} has started: <a href="{}">follow it</a>.', job.pk, url)
        )
        return redirect(url)
