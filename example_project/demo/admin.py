"""Admin of the demo: the catalogue and one importer section per job type."""

from __future__ import annotations

from django.contrib import admin

from data_exchange_tool.admin import (
    ExportJobAdmin,
    GenericImporterModelAdmin,
    ImportExportMixin,
    ImportMixin,
)
from example_project.demo.models import (
    Partner,
    Product,
    ProductImportJob,
    StockRecord,
    StockRecordExportJob,
    StockRecordImportJob,
)


@admin.register(StockRecordImportJob)
class StockRecordImporterAdmin(GenericImporterModelAdmin):
    """Upload, preview and confirm stock record files."""


@admin.register(ProductImportJob)
class ProductImporterAdmin(GenericImporterModelAdmin):
    """Upload, preview and confirm product files."""


@admin.register(StockRecordExportJob)
class StockRecordExportAdmin(ExportJobAdmin):
    """Follow and download stock record exports."""


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Product)
class ProductAdmin(ImportMixin, admin.ModelAdmin):
    list_display = ("sku", "title")
    search_fields = ("sku", "title")


@admin.register(StockRecord)
class StockRecordAdmin(ImportExportMixin, admin.ModelAdmin):
    # Two export types read stock records (with and without tags): the actions use this one.
    export_job_type = StockRecordExportJob
    list_display = ("partner", "partner_sku", "product", "price", "num_in_stock", "num_allocated")
    list_filter = ("partner",)
    search_fields = ("partner_sku", "product__sku")
