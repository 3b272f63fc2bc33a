"""
The admin of import job types: ``GenericImporterModelAdmin``.

Registered for a job type (a proxy of ``ImportJob``), it gives that type its own admin section:

- the list shows only that type's jobs (the proxy's manager filters them) with a coloured state
  badge, the counts, who uploaded and when, and a live progress bar for running jobs;
- the add page is an upload form; saving it stores the file and the preview starts by itself;
- the job page shows the state, a progress bar that polls a small JSON endpoint while a task runs,
  the counts, a paged table of invalid rows and a paged sample of the planned changes, the buttons
  whose transition is allowed now (Confirm import, Cancel, Re-run preview) and the downloads.

Every state change is a POST through the admin's CSRF-protected views; GETs only read.
Permissions, per job type: ``add`` uploads, ``view`` sees the jobs (a user's own jobs only, unless
they also have ``view_all_<type>`` or ``data_exchange_tool.view_all_importjob``), and
``confirm_<type>`` (or ``data_exchange_tool.confirm_importjob``) confirms imports and may force an
import past invalid rows. URL names carry the app label and model name
(``admin:<app>_<model>_confirm``), so several job types live side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST, require_safe

from data_exchange_tool import actions, downloads, permissions, progress
from data_exchange_tool.admin.display import (
    POLLING_STATES,
    JobPageMixin,
    counts_html,
    progress_bar,
    state_badge,
)
from data_exchange_tool.admin.forms import (
    DELIMITER_LABELS,
    ImportUploadForm,
    RerunPreviewForm,
)
from data_exchange_tool.exceptions import TransitionRefusedError
from data_exchange_tool.imports.readers import supported_extensions
from data_exchange_tool.imports.reports import template_columns
from data_exchange_tool.locking import confirm_refusal
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import (
    CANCELLABLE_STATES,
    PREVIEW_DONE_STATES,
    RUNNING_STATES,
    JobState,
)

#: States whose (full) progress bar is still worth showing.
SUCCEEDED_STATES = (JobState.PREVIEW_SUCCEEDED, JobState.IMPORT_SUCCEEDED)


class JobPermissionsMixin:
    """The admin's permission checks of a job type's jobs, answered by ``permissions``."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Return True when the user may see this type's jobs (their own at least)."""
        return permissions.can_read(request.user, self.model)  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Return True when the user may upload files of this type."""
        return permissions.can_start(request.user, self.model)  # type: ignore[attr-defined]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Return True when the user holds ``change`` for this type (re-run, cancel any job)."""
        return permissions.has_job_permission(request.user, self.model, "change")  # type: ignore[attr-defined]

    def has_view_all_permission(self, request: HttpRequest) -> bool:
        """Return True when the user sees every user's jobs of this type, not only their own."""
        return permissions.can_view_all(request.user, self.model)  # type: ignore[attr-defined]

    def has_confirm_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Return True when the user may confirm imports (and force them) of this type."""
        return permissions.can_confirm(request.user, self.model)  # type: ignore[attr-defined]

    def has_rerun_permission(self, request: HttpRequest, obj: ImportJob) -> bool:
        """Return True when the user may run the preview of ``obj`` again (with a new file)."""
        return permissions.can_rerun(request.user, obj)

    def has_cancel_permission(self, request: HttpRequest, obj: Any) -> bool:
        """Return True when the user may cancel ``obj``."""
        return permissions.can_cancel(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never delete a running job: its task would lose its row (and its lock)."""
        if obj is not None and obj.state in RUNNING_STATES:
            return False
        return permissions.has_job_permission(request.user, self.model, "delete")  # type: ignore[attr-defined]


class GenericImporterModelAdmin(JobPageMixin, JobPermissionsMixin, admin.ModelAdmin):
    """The admin of one job type: upload a file, see the preview, confirm or cancel."""

    #: Rows per page of the invalid rows and of the planned changes (``get_preview_rows_per_page``).
    preview_rows_per_page: ClassVar[int] = 25
    #: Seconds between two polls of the progress endpoint while a task runs.
    poll_interval: ClassVar[float] = 1.5
    #: The template of the job page; see ``get_job_template``.
    job_template: ClassVar[str] = "admin/data_exchange_tool/import_job.html"
    #: The form that re-runs the preview; see ``get_rerun_form``.
    rerun_form_class: ClassVar[type[RerunPreviewForm]] = RerunPreviewForm

    form = ImportUploadForm
    add_form_template = "admin/data_exchange_tool/import_upload.html"
    change_list_template = "admin/data_exchange_tool/import_change_list.html"
    list_display = (
        "id",
        "file_name",
        "state_display",
        "progress_display",
        "counts_display",
        "created_by",
        "created_at",
        "finished_at",
    )
    list_display_links = ("id", "file_name")
    list_filter = ("state", ("created_by", admin.RelatedOnlyFieldListFilter), "created_at")
    list_select_related = ("created_by",)
    search_fields = ("file_name",)

    class Media:
        css: ClassVar[dict[str, tuple[str, ...]]] = {"all": ("data_exchange_tool/admin.css",)}
        js: ClassVar[tuple[str, ...]] = ("data_exchange_tool/progress.js",)

    # --- list ----------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Return this type's jobs the user may see: all of them, or only their own."""
        return permissions.visible_jobs(super().get_queryset(request), request.user, self.model)

    @admin.display(description="state", ordering="state")
    def state_display(self, obj: ImportJob) -> str:
        """Return the state as a coloured badge."""
        return state_badge(obj.state)

    @admin.display(description="progress")
    def progress_display(self, obj: ImportJob) -> str:
        """Return a live progress bar while a task is queued or running."""
        if obj.state not in POLLING_STATES:
            return ""
        return self.get_progress_bar(obj)

    @admin.display(description="rows", ordering="total_rows")
    def counts_display(self, obj: ImportJob) -> str:
        """Return the row count and, below it, the counts by action; invalid rows stand out."""
        return counts_html(obj)

    @admin.display(description="finished")
    def finished_at(self, obj: ImportJob) -> Any:
        """Return when the job last finished a task, or was cancelled."""
        return obj.cancelled_at or obj.import_finished_at or obj.preview_finished_at

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Delete the selected jobs except running ones, which keep their rows."""
        running = queryset.filter(state__in=POLLING_STATES[1:])
        if running.exists():
            self.message_user(
                request, "Running jobs were not deleted; cancel them first.", messages.WARNING
            )
        queryset.exclude(pk__in=running.values("pk")).delete()

    # --- upload (the add page) -------------------------------------------------------------

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Show the upload form, with the expected columns and the template's links."""
        context = {**self.get_upload_context(request), **(extra_context or {})}
        return super().add_view(request, form_url, context)

    def get_upload_context(self, request: HttpRequest) -> dict[str, Any]:
        """Return what the upload page says about the file it expects."""
        return {
            "title": f"Upload a file: {self.opts.verbose_name}",
            "expected_columns": template_columns(self.model),
            "extensions": supported_extensions(),
            "template_url": reverse(self.url_name("template"), current_app=self.admin_site.name),
        }

    def get_fields(self, request: HttpRequest, obj: ImportJob | None = None) -> Any:
        """Return the upload form's fields: force import only for people who may confirm."""
        if self.has_confirm_permission(request):
            return ("file", "encoding", "delimiter", "force_import")
        return ("file", "encoding", "delimiter")

    def get_readonly_fields(self, request: HttpRequest, obj: ImportJob | None = None) -> Any:
        return ()

    def save_model(self, request: HttpRequest, obj: ImportJob, form: Any, change: bool) -> None:
        """Record who uploaded the file and its original name, and start its preview."""
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.created_by = request.user
        obj.file_name = (form.cleaned_data["file"].name or "")[:255]
        obj.options = actions.with_reading_options(
            obj.options or {}, form.cleaned_data.get("encoding"), form.cleaned_data.get("delimiter")
        )
        actions.submit_import(obj)

    def response_add(self, request: HttpRequest, obj: ImportJob, post_url: Any = None) -> Any:
        """Go to the new job's page, where the preview shows as it runs."""
        self.message_user(request, f"{obj} was uploaded; its preview starts now.")
        return redirect(self.job_url(obj))

    # --- the job page ------------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Show the job page (read only: every change is a POST to its own URL)."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        job = self.get_job(request, object_id)
        context = {**self.get_job_page_context(request, job), **(extra_context or {})}
        return TemplateResponse(request, self.get_job_template(request, job), context)

    def get_job_template(self, request: HttpRequest, job: ImportJob) -> str:
        """Return the template of the job page."""
        return self.job_template

    def get_preview_rows_per_page(self, request: HttpRequest) -> int:
        """Return how many invalid rows, and sampled changes, one page shows."""
        return self.preview_rows_per_page

    def get_job_page_context(self, request: HttpRequest, job: ImportJob) -> dict[str, Any]:
        """Return the context of the job page."""
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "title": str(job),
            "job": job,
            "original": job,
            "media": self.media,
            "has_view_permission": True,
            "state_badge": state_badge(job.state),
            "is_polling": job.state in POLLING_STATES,
            "show_progress": job.state in (*POLLING_STATES, *SUCCEEDED_STATES),
            "cancel_pending": progress.cancel_pending(job),
            "progress_bar": self.get_progress_bar(job),
            **self.get_action_context(request, job),
            "urls": self.get_job_urls(job),
            "errors_page": self.get_errors_page(request, job),
            "changes_page": self.get_changes_page(request, job),
            "target_url": self.get_target_url(request, job),
            "target_label": job.get_target_model()._meta.verbose_name_plural,
            "delimiter_label": DELIMITER_LABELS.get(job.file_delimiter, job.file_delimiter),
        }

    def get_progress_bar(self, job: ImportJob) -> str:
        """Return the job's progress bar, wired to poll the progress endpoint."""
        return progress_bar(
            job.state, progress.percent(job), self.job_url(job, "progress"), self.poll_interval
        )

    def get_action_context(self, request: HttpRequest, job: ImportJob) -> dict[str, Any]:
        """Return which buttons the page shows and why Confirm is refused, in words."""
        refusal = None if job.state in POLLING_STATES else confirm_refusal(job)
        may_confirm = self.has_confirm_permission(request, job)
        if refusal is None and not may_confirm and job.state == JobState.PREVIEW_SUCCEEDED:
            refusal = (
                "You can see this preview, but confirming imports of this type needs the "
                f"“{self.opts.verbose_name}: can confirm” permission."
            )
        show_rerun = job.state in PREVIEW_DONE_STATES and self.has_rerun_permission(request, job)
        return {
            "confirm_refusal": refusal,
            "show_confirm": may_confirm and refusal is None and job.state not in POLLING_STATES,
            "show_cancel": self.can_cancel_now(request, job),
            "show_rerun": show_rerun,
            "rerun_form": self.get_rerun_form(request, job) if show_rerun else None,
        }

    def can_cancel_now(self, request: HttpRequest, job: ImportJob) -> bool:
        """Return True when the Cancel button applies to the job now."""
        if job.state not in CANCELLABLE_STATES or progress.cancel_pending(job):
            return False
        return self.has_cancel_permission(request, job)

    def get_job_urls(self, job: ImportJob) -> dict[str, str]:
        """Return the URLs of the job page's actions and downloads."""
        names = ("progress", "confirm", "cancel", "rerun", "file", "errors")
        urls = {name: self.job_url(job, name) for name in names}
        urls["template"] = reverse(self.url_name("template"), current_app=self.admin_site.name)
        urls["changelist"] = reverse(self.url_name("changelist"), current_app=self.admin_site.name)
        return urls

    def paginate(self, request: HttpRequest, queryset: QuerySet, param: str) -> Page:
        """Return the page of ``queryset`` named by the GET parameter ``param``."""
        paginator = Paginator(queryset, self.get_preview_rows_per_page(request))
        page = paginator.get_page(request.GET.get(param))
        page.previous_url = page_url(request, param, page.number - 1) if page.has_previous() else ""
        page.next_url = page_url(request, param, page.number + 1) if page.has_next() else ""
        return page

    def get_errors_page(self, request: HttpRequest, job: ImportJob) -> Page:
        """Return the current page of row errors, each with its ordered original values."""
        page = self.paginate(request, job.row_errors.order_by("row_number", "id"), "errors_page")
        order = self.column_order(job)
        for error in page.object_list:
            error.ordered_values = ordered_items(error.values, order)
        return page

    def get_changes_page(self, request: HttpRequest, job: ImportJob) -> Page:
        """Return the current page of the preview's sample, with old -> new for each change."""
        page = self.paginate(request, job.preview_rows.order_by("row_number"), "changes_page")
        order = self.column_order(job)
        for row in page.object_list:
            row.badge = format_html(
                '<span class="dxt-action dxt-action-{0}">{0}</span>', row.action
            )
            row.change_list = [(name, pair[0], pair[1]) for name, pair in row.changes.items()]
            row.ordered_values = ordered_items(row.values, order)
        return page

    def column_order(self, job: ImportJob) -> list[str]:
        """Return the columns in the order values are shown: the template's, then the rest."""
        try:
            return template_columns(type(job))
        except Exception:  # a broken serializer must not hide the job page
            return []

    def get_target_url(self, request: HttpRequest, job: ImportJob) -> str | None:
        """Return the target's changelist after a successful import, if the user may see it."""
        if job.state != JobState.IMPORT_SUCCEEDED:
            return None
        model = job.get_target_model()
        model_admin = self.admin_site._registry.get(model)
        if model_admin is None or not model_admin.has_view_or_change_permission(request):
            return None
        opts = model._meta
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist",
            current_app=self.admin_site.name,
        )

    def get_rerun_form(self, request: HttpRequest, job: ImportJob, **kwargs: Any) -> Any:
        """Return the form that runs the preview again."""
        allow_force = self.has_confirm_permission(request, job)
        initial = {
            "force_import": job.force_import,
            "encoding": job.given_encoding,
            "delimiter": job.given_delimiter,
        }
        return self.rerun_form_class(allow_force=allow_force, initial=initial, **kwargs)

    # --- URLs and the views behind the buttons ---------------------------------------------

    def url_name(self, name: str) -> str:
        """Return the namespaced URL name ``admin:<app>_<model>_<name>``."""
        return f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}"

    def job_url(self, job: ImportJob, name: str = "change") -> str:
        """Return the URL of one of the job's views."""
        return reverse(self.url_name(name), args=[quote(job.pk)], current_app=self.admin_site.name)

    def get_urls(self) -> list[URLPattern]:
        """Add the job's action, progress and download views before the admin's own URLs."""
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        views: list[tuple[str, Callable[..., HttpResponse], Callable[..., Any], str]] = [
            ("template/", self.template_view, require_safe, "template"),
            ("<path:object_id>/progress/", self.progress_view, require_safe, "progress"),
            ("<path:object_id>/file/", self.file_view, require_safe, "file"),
            ("<path:object_id>/errors/", self.error_report_view, require_safe, "errors"),
            ("<path:object_id>/confirm/", self.confirm_view, require_POST, "confirm"),
            ("<path:object_id>/cancel/", self.cancel_view, require_POST, "cancel"),
            ("<path:object_id>/rerun/", self.rerun_view, require_POST, "rerun"),
        ]
        urls = [
            path(route, self.admin_site.admin_view(method(view)), name=f"{prefix}_{name}")
            for route, view, method, name in views
        ]
        return urls + super().get_urls()

    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """Return the job's state, progress and counts as JSON (polled by the job page)."""
        job = self.get_job(request, object_id)
        done, total = progress.read_progress(job)
        return JsonResponse(
            {
                "id": job.pk,
                "state": job.state,
                "state_label": str(JobState(job.state).label),
                "running": job.is_running,
                "polling": job.state in POLLING_STATES,
                "percent": progress.percent(job),
                "done": done,
                "total": total,
                "counts": job.counts,
            }
        )

    def confirm_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Start the import (POST), or say why it is refused."""
        job = self.get_job(request, object_id)
        if not self.has_confirm_permission(request, job):
            raise PermissionDenied
        try:
            actions.confirm_import(job, request.user)
        except TransitionRefusedError as exc:
            self.message_user(request, f"The import was not started: {exc}", messages.ERROR)
        else:
            self.message_user(request, "The import has started.", messages.SUCCESS)
        return redirect(self.job_url(job))

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Cancel the job (POST): a running import stops at its next batch and writes nothing."""
        job = self.get_job(request, object_id)
        if not self.has_cancel_permission(request, job):
            raise PermissionDenied
        importing = job.state == JobState.IMPORT_IN_PROGRESS
        try:
            actions.cancel_import(job)
        except TransitionRefusedError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, cancel_message(importing), messages.SUCCESS)
        return redirect(self.job_url(job))

    def rerun_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Run the preview again (POST), with the new file when one is sent."""
        job = self.get_job(request, object_id)
        if not self.has_rerun_permission(request, job):
            raise PermissionDenied
        form = self.get_rerun_form(request, job, data=request.POST, files=request.FILES)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
            return redirect(self.job_url(job))
        try:
            self.rerun_preview(job, form.cleaned_data)
        except TransitionRefusedError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, "The preview runs again.", messages.SUCCESS)
        return redirect(self.job_url(job))

    def rerun_preview(self, job: ImportJob, data: dict[str, Any]) -> None:
        """Store the force-import choice and the new file, and start the preview again."""
        actions.rerun_preview(
            job,
            data.get("file"),
            force_import=data.get("force_import"),
            encoding=data.get("encoding", ""),
            delimiter=data.get("delimiter", ""),
        )

    def file_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Stream the uploaded file."""
        return downloads.uploaded_file_response(self.get_job(request, object_id))

    def error_report_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Download the invalid rows with an error column, in the uploaded file's format."""
        return downloads.error_report_response(self.get_job(request, object_id))

    def template_view(self, request: HttpRequest) -> HttpResponse:
        """Download an empty file with the expected columns (``?format=xlsx`` for XLSX)."""
        if not (self.has_view_or_change_permission(request) or self.has_add_permission(request)):
            raise PermissionDenied
        return downloads.template_response(self.model, request.GET.get("format", "csv"))


def ordered_items(values: dict[str, Any], order: list[str]) -> list[tuple[str, Any]]:
    """Return ``values`` as pairs, the names in ``order`` first, then the others by name."""
    rank = {name: index for index, name in enumerate(order)}
    names = sorted(values, key=lambda name: (rank.get(name, len(rank)), name))
    return [(name, values[name]) for name in names]


def page_url(request: HttpRequest, param: str, number: int) -> str:
    """Return the query string of the current page with ``param`` set to ``number``."""
    query = request.GET.copy()
    query[param] = str(number)
    return f"?{query.urlencode()}"


def cancel_message(importing: bool) -> str:
    """Return what happens after Cancel."""
    if importing:
        return "Cancel requested: the import stops at its next batch and writes nothing."
    return "The job is cancelled."
