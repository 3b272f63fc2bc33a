"""
Admin integration: ``GenericImporterModelAdmin`` gives a job type its own admin section.

Register it for a job type (the seed's name)::

    @admin.register(StockRecordImportJob)
    class StockRecordImporterAdmin(GenericImporterModelAdmin):
        preview_rows_per_page = 50

and put ``ImportExportMixin`` on the target model's own ``ModelAdmin`` for an "Import" button and
the export actions on its changelist (``ExportActionMixin`` alone: only the export actions)::

    @admin.register(StockRecord)
    class StockRecordAdmin(ImportExportMixin, admin.ModelAdmin):
        pass

Importing this package also registers ``ImportJobOverviewAdmin`` for the concrete ``ImportJob``:
one read-only list of every job of every type, for superusers. Unregister it to replace it.
"""

from __future__ import annotations

from django.contrib import admin

from data_exchange_tool.admin.exports import ExportActionMixin, ExportJobAdmin
from data_exchange_tool.admin.imports import GenericImporterModelAdmin
from data_exchange_tool.admin.overview import ImportJobOverviewAdmin
from data_exchange_tool.admin.target import ImportExportMixin, ImportMixin
from data_exchange_tool.models import ImportJob

__all__ = [
    "ExportActionMixin",
    "ExportJobAdmin",
    "GenericImporterModelAdmin",
    "ImportExportMixin",
    "ImportJobOverviewAdmin",
    "ImportMixin",
]

if not admin.site.is_registered(ImportJob):
    admin.site.register(ImportJob, ImportJobOverviewAdmin)
