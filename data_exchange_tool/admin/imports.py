"""The admin of import job types: ``GenericImporterModelAdmin``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from data_exchange_tool.exceptions import TransitionRefusedError
from data_exchange_tool.models import ImportJob


class GenericImporterModelAdmin(admin.ModelAdmin):
    """The admin of one job type: upload a file, see the preview, confirm or cancel."""

    list_display = (
        "id",
        "state",
        "file_name",
        "total_rows",
        "new_rows",
        "updated_rows",
        "unchanged_rows",
        "invalid_rows",
        "created_by",
        "created_at",
    )
    list_filter = ("state", "created_at")
    fields = ("file", "force_import")
    readonly_fields = ()
    actions = ("confirm_selected", "cancel_selected")

    def get_fields(self, request: HttpRequest, obj: ImportJob | None = None) -> Any:
        if obj is None:
            return ("file", "force_import")
        return (
            "state",
            "file_name",
            "file_size",
            "file_sha256",
            "file_encoding",
            "force_import",
            "total_rows",
            "new_rows",
            "updated_rows",
            "unchanged_rows",
            "invalid_rows",
            "message",
            "created_by",
            "confirmed_by",
            "created_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: ImportJob | None = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: ImportJob, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
            obj.file_name = getattr(form.cleaned_data.get("file"), "name", "")[:255]
        super().save_model(request, obj, form, change)

    @admin.action(description="Confirm the import of the selected jobs")
    def confirm_selected(self, request: HttpRequest, queryset: Any) -> None:
        for job in queryset:
            try:
                job.confirm(request.user)
            except TransitionRefusedError as exc:
                self.message_user(request, f"Job #{job.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Job #{job.pk}: import started.")

    @admin.action(description="Cancel the selected jobs")
    def cancel_selected(self, request: HttpRequest, queryset: Any) -> None:
        for job in queryset:
            try:
                job.cancel_job()
            except TransitionRefusedError as exc:
                self.message_user(request, f"Job #{job.pk}: {exc}", messages.ERROR)
