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
from urllib.parse import urlencode

import django_fsm as fsm
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST, require_safe

from data_exchange_tool import actions, downloads, permissions, progress
from data_exchange_tool.admin.display import (
    POLLING_STATES,
    JobPageMixin,
    counts_html,
    number,
    progress_bar,
    progress_detail,
    progress_payload,
    state_badge,
    task_steps,
    when_html,
    who_and_when,
)
from data_exchange_tool.admin.forms import (
    DELIMITER_LABELS,
    ImportUploadForm,
    RerunPreviewForm,
)
from data_exchange_tool.admin.preview import PreviewTable, skipped_page
from data_exchange_tool.exceptions import TransitionRefusedError
from data_exchange_tool.imports.readers import supported_extensions
from data_exchange_tool.imports.reports import template_columns
from data_exchange_tool.locking import confirm_refusal
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import (
    CANCELLABLE_STATES,
    RUNNING_STATES,
    JobState,
)

#: States whose (full) progress bar is still worth showing.
SUCCEEDED_STATES = (JobState.PREVIEW_SUCCEEDED, JobState.IMPORT_SUCCEEDED)
#: States in which the job page shows its task's steps.
STEP_STATES = (*POLLING_STATES, *SUCCEEDED_STATES)


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

    #: Rows per page of the preview's table and of the import's errors.
    preview_rows_per_page: ClassVar[int] = 25
    #: Seconds between two polls of the progress endpoint while a task runs.
    poll_interval: ClassVar[float] = 1.5
    #: The template of the job page; see ``get_job_template``.
    job_template: ClassVar[str] = "admin/data_exchange_tool/import_job.html"
    #: The template of the pages that ask "are you sure?" before cancel and skip.
    ask_template: ClassVar[str] = "admin/data_exchange_tool/ask.html"
    #: The form that re-runs the preview; see ``get_rerun_form``.
    rerun_form_class: ClassVar[type[RerunPreviewForm]] = RerunPreviewForm
    #: The most rows the link to the imported rows names one by one (else: a date filter).
    link_rows: ClassVar[int] = 200

    form = ImportUploadForm
    add_form_template = "admin/data_exchange_tool/import_upload.html"
    change_list_template = "admin/data_exchange_tool/import_change_list.html"
    list_display = (
        "id",
        "file_display",
        "state_display",
        "counts_display",
        "uploaded_display",
        "finished_display",
    )
    list_display_links = ("id", "file_display")
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

    @admin.display(description=gettext_lazy("file"), ordering="file_name")
    def file_display(self, obj: ImportJob) -> str:
        """Return the uploaded file's original name."""
        return obj.file_name or f"#{obj.pk}"

    @admin.display(description=gettext_lazy("state"), ordering="state")
    def state_display(self, obj: ImportJob) -> str:
        """Return the state as a coloured badge, with a live progress bar below while it runs."""
        badge = state_badge(obj.state)
        if obj.state not in POLLING_STATES:
            return badge
        return format_html("{}{}", badge, self.get_progress_bar(obj))

    @admin.display(description=gettext_lazy("progress"))
    def progress_display(self, obj: ImportJob) -> str:
        """Return a live progress bar while a task is queued or running."""
        if obj.state not in POLLING_STATES:
            return ""
        return self.get_progress_bar(obj)

    @admin.display(description=gettext_lazy("rows"), ordering="total_rows")
    def counts_display(self, obj: ImportJob) -> str:
        """Return the row count and, below it, the counts by action; invalid rows stand out."""
        return counts_html(obj)

    @admin.display(description=gettext_lazy("uploaded"), ordering="created_at")
    def uploaded_display(self, obj: ImportJob) -> str:
        """Return who uploaded the file and, below, when: short enough for a narrow screen."""
        return who_and_when(obj.created_by, obj.created_at)

    @admin.display(description=gettext_lazy("finished"))
    def finished_display(self, obj: ImportJob) -> str:
        """Return when the job last finished a task, or was cancelled."""
        return when_html(self.finished_at(obj))

    def finished_at(self, obj: ImportJob) -> Any:
        """Return when the job last finished a task, or was cancelled."""
        return obj.cancelled_at or obj.import_finished_at or obj.preview_finished_at

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Delete the selected jobs except running ones, which keep their rows."""
        running = queryset.filter(state__in=POLLING_STATES[1:])
        if running.exists():
            self.message_user(
                request, _("Running jobs were not deleted; cancel them first."), messages.WARNING
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
            "title": _("Upload a file: %(type)s") % {"type": self.opts.verbose_name},
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
        obj.created_by = request.user  # type: ignore[assignment]  # the admin's users signed in
        obj.file_name = (form.cleaned_data["file"].name or "")[:255]
        obj.options = actions.with_reading_options(
            obj.options or {}, form.cleaned_data.get("encoding"), form.cleaned_data.get("delimiter")
        )
        actions.submit_import(obj)

    def response_add(self, request: HttpRequest, obj: ImportJob, post_url: Any = None) -> Any:
        """Go to the new job's page, where the preview shows as it runs."""
        self.message_user(
            request, _("%(job)s was uploaded; its preview starts now.") % {"job": obj}
        )
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
        """Return how many rows of the preview's table, and import errors, one page shows."""
        return self.preview_rows_per_page

    def base_context(self, request: HttpRequest, job: ImportJob) -> dict[str, Any]:
        """Return what every page about one job needs: the admin's context and the job."""
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "job": job,
            "original": job,
            "media": self.media,
            "has_view_permission": True,
            "urls": self.get_job_urls(job),
        }

    def get_job_page_context(self, request: HttpRequest, job: ImportJob) -> dict[str, Any]:
        """Return the context of the job page."""
        per_page = self.get_preview_rows_per_page(request)
        table = PreviewTable(job, request, per_page)
        return {
            **self.base_context(request, job),
            "title": str(job),
            "state_badge": state_badge(job.state),
            "is_polling": job.state in POLLING_STATES,
            "show_progress": job.state in STEP_STATES,
            "steps": task_steps(job),
            "cancel_pending": progress.cancel_pending(job),
            "progress_bar": self.get_progress_bar(job),
            "progress_detail": progress_detail(job),
            **self.get_action_context(request, job),
            **self.get_result_context(request, job),
            "table": table,
            "preview_page": table.page,
            "skipped_page": skipped_page(job, request, per_page),
            "has_errors": job.row_errors.exists(),
            "delimiter_label": DELIMITER_LABELS.get(job.file_delimiter, job.file_delimiter),
        }

    def get_progress_bar(self, job: ImportJob) -> str:
        """Return the job's progress bar, wired to poll the progress endpoint."""
        return progress_bar(
            job.state, progress.percent(job), self.job_url(job, "progress"), self.poll_interval
        )

    def get_action_context(self, request: HttpRequest, job: ImportJob) -> dict[str, Any]:
        """Return which buttons the page shows and why Confirm is refused, in words."""
        quiet = (*POLLING_STATES, JobState.IMPORT_SUCCEEDED)  # no refusal on a success page
        refusal = None if job.state in quiet else confirm_refusal(job)
        may_confirm = self.has_confirm_permission(request, job)
        if refusal is None and not may_confirm and job.state == JobState.PREVIEW_SUCCEEDED:
            refusal = _(
                "You can see this preview, but confirming imports of this type needs the "
                "“%(type)s: can confirm” permission."
            ) % {"type": self.opts.verbose_name}
        show_rerun = fsm.can_proceed(job.reset_preview) and self.has_rerun_permission(request, job)
        return {
            "confirm_refusal": refusal,
            "show_confirm": may_confirm and refusal is None and job.state not in quiet,
            "show_skip_invalid": may_confirm and self.can_skip_invalid(job),
            "skip_label": skip_button_text(job.total_rows - job.invalid_rows, job.invalid_rows),
            "show_cancel": self.can_cancel_now(request, job),
            "show_rerun": show_rerun,
            "rerun_form": self.get_rerun_form(request, job) if show_rerun else None,
        }

    def can_skip_invalid(self, job: ImportJob) -> bool:
        """Return True when a forced confirm would import the valid rows and skip the others."""
        return (
            job.state == JobState.PREVIEW_SUCCEEDED
            and bool(job.invalid_rows)
            and not job.force_import
            and job.total_rows > job.invalid_rows
            and confirm_refusal_forced(job) is None
        )

    def can_cancel_now(self, request: HttpRequest, job: ImportJob) -> bool:
        """Return True when Cancel would change something and the user may ask for it."""
        if job.state not in CANCELLABLE_STATES or progress.cancel_pending(job):
            return False
        return self.has_cancel_permission(request, job)

    def get_job_urls(self, job: ImportJob) -> dict[str, str]:
        """Return the URLs of the job's views (buttons, downloads, progress)."""
        names = (
            "change",
            "progress",
            "file",
            "errors",
            "confirm",
            "cancel",
            "rerun",
            "ask_cancel",
            "ask_skip",
        )
        urls = {name: self.job_url(job, name) for name in names}
        urls["template"] = reverse(self.url_name("template"), current_app=self.admin_site.name)
        urls["changelist"] = reverse(self.url_name("changelist"), current_app=self.admin_site.name)
        return urls

    def get_result_context(self, request: HttpRequest, job: ImportJob) -> dict[str, Any]:
        """Return the summary line of a finished run and the link to the imported rows."""
        link = self.get_target_link(request, job)
        return {
            "result_line": result_line(job),
            "target_url": link[0] if link else None,
            "target_label": link[1] if link else "",
        }

    def get_target_url(self, request: HttpRequest, job: ImportJob) -> str | None:
        """Return the link to the rows a successful import wrote, if the user may see them."""
        link = self.get_target_link(request, job)
        return link[0] if link else None

    def get_target_link(self, request: HttpRequest, job: ImportJob) -> tuple[str, str] | None:
        """Return ``(url, words)`` of the target's changelist, filtered to what the import wrote.

        The import wrote at most ``link_rows`` rows it could name: those rows by primary key.
        More: the rows changed while it ran, when the target has an ``auto_now`` (or
        ``auto_now_add``) field; else the whole changelist.
        """
        if job.state != JobState.IMPORT_SUCCEEDED:
            return None
        model = job.get_target_model()
        model_admin = self.admin_site._registry.get(model)
        if model_admin is None or not model_admin.has_view_or_change_permission(request):
            return None
        opts = model._meta
        url = reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist",
            current_app=self.admin_site.name,
        )
        plural = opts.verbose_name_plural
        pks = job.written_pks
        if pks and len(pks) <= self.link_rows:
            query = urlencode({f"{opts.pk.name}__in": ",".join(str(pk) for pk in pks)})
            words = ngettext(
                "See the %(count)s %(name)s this import wrote",
                "See the %(count)s %(name)s this import wrote",
                len(pks),
            ) % {"count": number(len(pks)), "name": opts.verbose_name if len(pks) == 1 else plural}
            return f"{url}?{query}", words
        stamp = auto_now_field(model)
        if stamp and job.import_started_at and job.import_finished_at and pks is None:
            query = urlencode(
                {
                    f"{stamp}__gte": job.import_started_at.isoformat(),
                    f"{stamp}__lte": job.import_finished_at.isoformat(),
                }
            )
            words = _("See the %(name)s changed while this import ran") % {"name": plural}
            return f"{url}?{query}", words
        return url, _("See the imported %(name)s") % {"name": plural}

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
        views: list[tuple[str, Callable[..., HttpResponseBase], Callable[..., Any], str]] = [
            ("template/", self.template_view, require_safe, "template"),
            # before "<id>/cancel/": a path converter would take "<id>/ask" as the id
            ("<path:object_id>/ask/cancel/", self.ask_cancel_view, require_safe, "ask_cancel"),
            ("<path:object_id>/ask/skip-invalid/", self.ask_skip_view, require_safe, "ask_skip"),
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
        """Return the job's state, progress, phase and counts as JSON (polled by the pages)."""
        job = self.get_job(request, object_id)
        counts = progress.read_counts(job)
        return JsonResponse(
            {
                **progress_payload(job),
                "counts": counts,
                "counts_text": {name: number(count) for name, count in counts.items()},
            }
        )

    def ask_cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Ask "are you sure?" before a cancel (a GET page whose form POSTs to ``cancel``)."""
        job = self.get_job(request, object_id)
        if not self.has_cancel_permission(request, job):
            raise PermissionDenied
        if not self.can_cancel_now(request, job):
            return redirect(self.job_url(job))
        importing = job.state == JobState.IMPORT_IN_PROGRESS
        context = {
            **self.base_context(request, job),
            "title": _("Cancel %(job)s?") % {"job": job},
            "question": _("Are you sure you want to cancel this job?"),
            "consequences": [
                _("The import stops at its next batch and writes nothing.")
                if importing
                else _("The file will not be imported; the preview stays here to read."),
                _("This cannot be undone: to import the file later, upload it again."),
            ],
            "action_url": self.job_url(job, "cancel"),
            "fields": {},
            "button": _("Yes, cancel the job"),
            "button_class": "dxt-cancel",
            "back": _("No, go back"),
        }
        return TemplateResponse(request, self.ask_template, context)

    def ask_skip_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Ask "are you sure?" before importing the valid rows and skipping the invalid ones."""
        job = self.get_job(request, object_id)
        if not self.has_confirm_permission(request, job):
            raise PermissionDenied
        if not self.can_skip_invalid(job):
            return redirect(self.job_url(job))
        valid, invalid = job.total_rows - job.invalid_rows, job.invalid_rows
        values = {"valid": number(valid), "invalid": number(invalid)}
        context = {
            **self.base_context(request, job),
            "title": skip_button_text(valid, invalid),
            "question": ngettext(
                "Import the %(valid)s valid rows and skip the %(invalid)s invalid row?",
                "Import the %(valid)s valid rows and skip the %(invalid)s invalid rows?",
                invalid,
            )
            % values,
            "consequences": [
                _(
                    "The import checks every row again against the data as it is now and "
                    "writes the valid ones in one transaction."
                ),
                ngettext(
                    "The invalid row is not written; it stays listed here and in the error "
                    "report, so you can fix it and import it later.",
                    "The invalid rows are not written; they stay listed here and in the error "
                    "report, so you can fix them and import them later.",
                    invalid,
                ),
            ],
            "action_url": self.job_url(job, "confirm"),
            "fields": {"skip_invalid": "1"},
            "button": skip_button_text(valid, invalid),
            "button_class": "dxt-confirm",
            "back": _("No, go back"),
        }
        return TemplateResponse(request, self.ask_template, context)

    def confirm_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Start the import (POST), skipping the invalid rows when asked, or say why not."""
        job = self.get_job(request, object_id)
        if not self.has_confirm_permission(request, job):
            raise PermissionDenied
        skip = request.POST.get("skip_invalid") == "1"
        try:
            actions.confirm_import(job, request.user, force=skip)
        except TransitionRefusedError as exc:
            self.message_user(
                request,
                _("The import was not started: %(reason)s") % {"reason": exc},
                messages.ERROR,
            )
        else:
            self.message_user(request, _("The import has started."), messages.SUCCESS)
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
            self.message_user(request, _("The preview runs again."), messages.SUCCESS)
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

    def file_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
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


def confirm_refusal_forced(job: ImportJob) -> str | None:
    """Return why a forced confirm would be refused (only the lock, for a finished preview)."""
    forced = job.force_import
    job.force_import = True
    try:
        return confirm_refusal(job)
    finally:
        job.force_import = forced


def skip_button_text(valid: int, invalid: int) -> str:
    """Return "Import the 4,997 valid rows (skip 3 invalid)"."""
    return ngettext(
        "Import the %(valid)s valid rows (skip %(invalid)s invalid)",
        "Import the %(valid)s valid rows (skip %(invalid)s invalid)",
        valid,
    ) % {"valid": number(valid), "invalid": number(invalid)}


def result_line(job: ImportJob) -> str:
    """Return the summary of a finished run: what the preview plans, or what the import did."""
    counts = {
        "total": number(job.total_rows),
        "new": number(job.new_rows),
        "updated": number(job.updated_rows),
        "unchanged": number(job.unchanged_rows),
        "invalid": number(job.invalid_rows),
    }
    if job.state == JobState.IMPORT_SUCCEEDED:
        return (
            _("%(new)s created, %(updated)s updated, %(unchanged)s unchanged, %(invalid)s skipped.")
            % counts
        )
    if job.state == JobState.PREVIEW_SUCCEEDED:
        return (
            ngettext(
                "%(total)s row: %(new)s new, %(updated)s to update, %(unchanged)s unchanged, "
                "%(invalid)s invalid.",
                "%(total)s rows: %(new)s new, %(updated)s to update, %(unchanged)s unchanged, "
                "%(invalid)s invalid.",
                job.total_rows,
            )
            % counts
        )
    return ""


def auto_now_field(model: type[models.Model]) -> str | None:
    """Return the name of the target's ``auto_now`` (else ``auto_now_add``) date-time field."""
    fields = [f for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)]
    for flag in ("auto_now", "auto_now_add"):
        found = next((f.name for f in fields if getattr(f, flag, False)), None)
        if found:
            return found
    return None


def cancel_message(importing: bool) -> str:
    """Return what happens after Cancel."""
    if importing:
        return _("Cancel requested: the import stops at its next batch and writes nothing.")
    return _("The job is cancelled.")


def job_type_label(job_type: type[ImportJob]) -> str:
    """Return a job type's name for a person."""
    return str(capfirst(job_type._meta.verbose_name))
