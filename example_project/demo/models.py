"""The demo's catalogue: partners, products, tags and stock records, with their job types."""

from __future__ import annotations

from django.db import models

from data_exchange_tool.models import ExportJob, ImportJob


class Partner(models.Model):
    """A supplier, known by its name."""

    name = models.CharField(max_length=128, unique=True)

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A product, known by its SKU."""

    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.sku


class Tag(models.Model):
    """A label a stock record may carry ("clearance", "seasonal"), known by its name."""

    name = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.name


class StockRecord(models.Model):
    """What a partner holds of a product, under the partner's own SKU."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="stock_records")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_records")
    partner_sku = models.CharField(max_length=128)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    num_in_stock = models.PositiveIntegerField(default=0)
    num_allocated = models.IntegerField(default=0)
    tags = models.ManyToManyField(Tag, blank=True, related_name="stock_records")

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("partner", "partner_sku"), name="demo_partner_sku"),
        )

    def __str__(self) -> str:
        return f"{self.partner} {self.partner_sku}"


class StockRecordImportJob(ImportJob):
    """Import stock records; rows are matched by partner and partner SKU."""

    class Meta:
        proxy = True
        target_model = StockRecord
        serializer_class = "example_project.demo.serializers.ImportStockRecordSerializer"
        verbose_name = "stock record import"
        verbose_name_plural = "stock record imports"


class TaggedStockRecordImportJob(ImportJob):
    """Import stock records with their tags, listed in one cell ("clearance;seasonal")."""

    class Meta:
        proxy = True
        target_model = StockRecord
        serializer_class = "example_project.demo.serializers.ImportTaggedStockRecordSerializer"
        verbose_name = "tagged stock record import"
        verbose_name_plural = "tagged stock record imports"


class ProductImportJob(ImportJob):
    """Import products; rows are matched by SKU."""

    class Meta:
        proxy = True
        target_model = Product
        serializer_class = "example_project.demo.serializers.ImportProductSerializer"
        verbose_name = "product import"
        verbose_name_plural = "product imports"


class StockRecordExportJob(ExportJob):
    """Export stock records in the columns of ``StockRecordImportJob``, filtered by partner,
    SKU prefix, price or stock."""

    class Meta:
        proxy = True
        target_model = StockRecord
        filterset_class = "example_project.demo.filters.StockRecordFilterSet"
        verbose_name = "stock record export"
        verbose_name_plural = "stock record exports"


class TaggedStockRecordExportJob(ExportJob):
    """Export stock records with their tags, in the columns of ``TaggedStockRecordImportJob``."""

    class Meta:
        proxy = True
        target_model = StockRecord
        serializer_class = "example_project.demo.serializers.ImportTaggedStockRecordSerializer"
        verbose_name = "tagged stock record export"
        verbose_name_plural = "tagged stock record exports"
