"""
Import and export from the target model's own changelist, where people look for them.

``ImportMixin`` adds an "Import" button to the changelist of a target model's ``ModelAdmin``: it
opens the upload page of the job type writing to that model, or a page to choose one when several
do. ``ImportExportMixin`` adds the export actions too (``ExportActionMixin`` is its export half)::

    @admin.register(StockRecord)
    class StockRecordAdmin(ImportExportMixin, admin.ModelAdmin):
        list_filter = ("partner",)

The button shows only the job types registered with a ``GenericImporterModelAdmin`` on the same
admin site whose upload the user may start. A ``ModelAdmin`` with its own
``change_list_template`` can extend ``admin/data_exchange_tool/target_change_list.html`` or
include ``admin/data_exchange_tool/includes/import_button.html`` in its object tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from data_exchange_tool import permissions
from data_exchange_tool.admin.exports import ExportActionMixin
from data_exchange_tool.models import ImportJob
from data_exchange_tool.registry import job_types

if TYPE_CHECKING:
    from django.contrib.admin import AdminSite
    from django.db.models import Model


class ImportMixin:
    """Add an "Import" button to a target model's changelist (see the module docstring)."""

    #: The import job types the button offers; ``None``: every type writing to this model.
    import_job_types: ClassVar[tuple[type[ImportJob], ...] | None] = None
    change_list_template = "admin/data_exchange_tool/target_change_list.html"
    import_choice_template: ClassVar[str] = "admin/data_exchange_tool/import_choice.html"

    model: type[Model]
    admin_site: AdminSite

    def get_import_job_types(self) -> list[type[ImportJob]]:
        """Return the import job types writing to this admin's model."""
        if self.import_job_types is not None:
            return list(self.import_job_types)
        return [t for t in job_types(ImportJob) if t.get_target_model() is self.model]

    def get_import_choices(self, request: HttpRequest) -> list[dict[str, str]]:
        """Return ``[{"label", "url"}]``: the upload pages of the types the user may start."""
        choices = []
        for job_type in self.get_import_job_types():
            if not (
                self.admin_site.is_registered(job_type)
                and permissions.can_start(request.user, job_type)
            ):
                continue
            opts = job_type._meta
            try:
                url = reverse(
                    f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_add",
                    current_app=self.admin_site.name,
                )
            except NoReverseMatch:
                continue
            choices.append({"label": str(capfirst(opts.verbose_name)), "url": url})
        return choices

    def get_import_url(self, request: HttpRequest) -> str | None:
        """Return where "Import" goes: the only upload page, the choice page, or nowhere."""
        choices = self.get_import_choices(request)
        if not choices:
            return None
        if len(choices) == 1:
            return choices[0]["url"]
        opts = self.model._meta
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_import",
            current_app=self.admin_site.name,
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Give the changelist's object tools the "Import" button."""
        context = {"dxt_import_url": self.get_import_url(request), **(extra_context or {})}
        return super().changelist_view(request, context)  # type: ignore[misc]

    def get_urls(self) -> list[URLPattern]:
        """Add the page that chooses among several job types."""
        opts = self.model._meta
        choose = path(
            "import/",
            self.admin_site.admin_view(self.import_choice_view),
            name=f"{opts.app_label}_{opts.model_name}_import",
        )
        return [choose, *super().get_urls()]  # type: ignore[misc]

    def import_choice_view(self, request: HttpRequest) -> HttpResponse:
        """Let the user pick the kind of file to import (one choice: go straight there)."""
        choices = self.get_import_choices(request)
        if not choices:
            raise PermissionDenied
        if len(choices) == 1:
            return redirect(choices[0]["url"])
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "app_label": opts.app_label,
            "title": _("Import %(name)s") % {"name": opts.verbose_name_plural},
            "choices": choices,
            "changelist_url": reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist",
                current_app=self.admin_site.name,
            ),
        }
        return TemplateResponse(request, self.import_choice_template, context)


class ImportExportMixin(ImportMixin, ExportActionMixin):
    """ "Import" on the changelist and the "Export to CSV / XLSX" actions, for a target model."""
