"""
One read-only list of every import job of every type, for superusers.

``ImportJobOverviewAdmin`` is registered for the concrete ``ImportJob`` (the "Import jobs" section
of the data_exchange_tool app). It lists, filters and searches every job; a job's own page is its
type's ``GenericImporterModelAdmin`` page, where the actions are. Only superusers and holders of
``data_exchange_tool.view_all_importjob`` see it; nothing can be added, changed or deleted here.
Unregister it (``admin.site.unregister(ImportJob)``) to replace it with your own.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from data_exchange_tool.admin.display import (
    POLLING_STATES,
    counts_html,
    progress_bar,
    state_badge,
    who_and_when,
)
from data_exchange_tool.models import ImportJob
from data_exchange_tool.permissions import can_view_all
from data_exchange_tool.progress import percent
from data_exchange_tool.registry import job_types


class JobTypeFilter(admin.SimpleListFilter):
    """Filter the overview by job type, named by each type's verbose name."""

    title = gettext_lazy("job type")
    parameter_name = "job_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (job_type._meta.label_lower, str(capfirst(job_type._meta.verbose_name)))
            for job_type in job_types(ImportJob)
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(job_type=self.value()) if self.value() else queryset


class ImportJobOverviewAdmin(admin.ModelAdmin):
    """Every job of every type, read only; each row links to its type's job page."""

    list_display = (
        "id",
        "job_link",
        "job_type_display",
        "state_display",
        "counts_display",
        "uploaded_display",
    )
    list_display_links = None
    list_filter = (
        JobTypeFilter,
        "state",
        ("created_by", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    list_select_related = ("created_by",)
    search_fields = ("file_name", "job_type")

    class Media:
        css = {"all": ("data_exchange_tool/admin.css",)}
        js = ("data_exchange_tool/progress.js",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Only superusers and holders of ``view_all_importjob`` see the overview."""
        return can_view_all(request.user, ImportJob)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def type_url(self, job: ImportJob, name: str = "change") -> str | None:
        """Return the URL of ``job``'s page in its type's admin, or None if it has none."""
        opts = type(job)._meta
        if not opts.proxy or not self.admin_site.is_registered(type(job)):
            return None
        try:
            return reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{name}",
                args=[quote(job.pk)],
                current_app=self.admin_site.name,
            )
        except NoReverseMatch:
            return None

    @admin.display(description=gettext_lazy("job"), ordering="file_name")
    def job_link(self, obj: ImportJob) -> str:
        """Return the file name, linked to the job's page when its type has an admin."""
        url = self.type_url(obj)
        label = obj.file_name or f"#{obj.pk}"
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description=gettext_lazy("type"), ordering="job_type")
    def job_type_display(self, obj: ImportJob) -> str:
        """Return the job type's verbose name."""
        return str(type(obj)._meta.verbose_name) if type(obj)._meta.proxy else obj.job_type

    @admin.display(description=gettext_lazy("state"), ordering="state")
    def state_display(self, obj: ImportJob) -> str:
        """Return the state as a coloured badge, with a live progress bar below while it runs."""
        if obj.state not in POLLING_STATES:
            return state_badge(obj.state)
        return format_html("{}{}", state_badge(obj.state), self.progress_display(obj))

    @admin.display(description=gettext_lazy("uploaded"), ordering="created_at")
    def uploaded_display(self, obj: ImportJob) -> str:
        """Return who uploaded the file and, below, when."""
        return who_and_when(obj.created_by, obj.created_at)

    @admin.display(description=gettext_lazy("rows"), ordering="total_rows")
    def counts_display(self, obj: ImportJob) -> str:
        """Return the row count and the counts by action."""
        return counts_html(obj)

    @admin.display(description=gettext_lazy("progress"))
    def progress_display(self, obj: ImportJob) -> str:
        """Return a live progress bar while a task is queued or running."""
        if obj.state not in POLLING_STATES:
            return ""
        return progress_bar(obj.state, percent(obj), self.type_url(obj, "progress") or "")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Send the job to its type's page, where its preview and actions are."""
        job = self.get_object(request, object_id)
        url = self.type_url(job) if job is not None else None
        if url and self.has_view_permission(request):
            return redirect(url)
        return super().change_view(request, object_id, form_url, extra_context)
