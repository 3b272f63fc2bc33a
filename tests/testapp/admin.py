"""Admin of the test job types: the browser tests watch a preview that cannot end too fast."""

from __future__ import annotations

from django.contrib import admin

from data_exchange_tool.admin import GenericImporterModelAdmin
from tests.testapp.models import ArtistImportJob, SlowStockRecordImportJob


@admin.register(SlowStockRecordImportJob)
class SlowStockRecordImporterAdmin(GenericImporterModelAdmin):
    """Stock record files whose rows take at least ``row_delay`` seconds each."""


@admin.register(ArtistImportJob)
class ArtistImporterAdmin(GenericImporterModelAdmin):
    """Artist files: the preview's table shows the memberships each row adds and removes."""
