"""Test-only models and job types (the demo app provides the main ones)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Now

from data_exchange_tool.models import ExportJob, ImportJob


class Tag(models.Model):
    """A model with a plain unique field that is not the lookup."""

    code = models.CharField(max_length=32, unique=True)
    label = models.CharField(max_length=64, unique=True)
    weight = models.IntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.code


class TagImportJob(ImportJob):
    """Tags, matched by code; ``label`` must stay unique."""

    class Meta:
        proxy = True
        target_model = "testapp.Tag"
        serializer_class = "tests.testapp.serializers.TagSerializer"
        natural_key = ("code",)
        column_mapping = {"Tag code": "code"}
        batch_size = 3


class PartitionedTagImportJob(ImportJob):
    """Tags as ``TagImportJob`` reads them, cut into parts of 40 rows (partitioned runs).

    Its serializer waits the job's ``options["row_delay"]`` seconds per row (cancel and kill tests).
    """

    part_rows = 40

    class Meta:
        proxy = True
        target_model = "testapp.Tag"
        serializer_class = "tests.testapp.serializers.SlowTagSerializer"
        natural_key = ("code",)
        column_mapping = {"Tag code": "code"}
        batch_size = 10


class SlowStockRecordImportJob(ImportJob):
    """A second job type for stock records whose rows take a while (cancel, lock and kill tests).

    Each row waits ``row_delay`` seconds before validation, or the job's ``options["row_delay"]``
    (a test sets it on the job, since the worker process that runs it has its own classes).
    """

    #: Seconds each row waits before validation.
    row_delay = 0.002

    class Meta:
        proxy = True
        target_model = "demo.StockRecord"
        serializer_class = "example_project.demo.serializers.ImportStockRecordSerializer"
        batch_size = 100

    def before_import_row(self, row: dict, row_number: int) -> None:
        import time

        time.sleep(float((self.options or {}).get("row_delay", self.row_delay)))


class Sample(models.Model):
    """The columns of ``tests/files/typical.*``: codes, zero-padded zips, prices, dates..."""

    code = models.CharField(max_length=32, blank=True)
    zip = models.CharField(max_length=8)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.BigIntegerField()
    ratio = models.DecimalField(max_digits=12, decimal_places=5)
    date = models.DateField(null=True, blank=True)
    updated = models.DateTimeField(null=True, blank=True)
    name = models.CharField(max_length=64, blank=True)
    active = models.BooleanField(null=True)
    note = models.TextField(blank=True)


class SampleImportJob(ImportJob):
    """The typical spreadsheets of ``tests/files``, every row new."""

    class Meta:
        proxy = True
        target_model = "testapp.Sample"
        serializer_class = "tests.testapp.serializers.SampleSerializer"
        natural_key = ()


class SampleExportJob(ExportJob):
    """Samples exported with the columns of ``SampleImportJob`` (numbers, dates, date-times)."""

    class Meta:
        proxy = True
        target_model = "testapp.Sample"
        file_format = "xlsx"


class Note(models.Model):
    """One optional text: any file previews through its job type."""

    text = models.TextField(blank=True)


class AnyFileImportJob(ImportJob):
    """Files of any columns: every row is new and valid, so the preview keeps every row's cells
    in its sample (up to 50 per action)."""

    class Meta:
        proxy = True
        target_model = "testapp.Note"
        serializer_class = "tests.testapp.serializers.NoteSerializer"
        natural_key = ()


class CatalogueItem(models.Model):
    """A catalogue entry: tags by their code (many-to-many) and an image given by URL."""

    sku = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=128, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="items")
    image = models.FileField(upload_to="catalogue/", blank=True, max_length=255)

    def __str__(self) -> str:
        return self.sku


class Band(models.Model):
    """A band, known by its title."""

    title = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.title


class Artist(models.Model):
    """An artist, with the bands they played in (through ``Membership``)."""

    name = models.CharField(max_length=64, unique=True)
    bands = models.ManyToManyField(Band, through="Membership", related_name="artists", blank=True)


# --- the write path: one column of each kind -------------------------------------------------


def default_tags() -> list[str]:
    """A callable JSON default."""
    return ["new"]


class Category(models.Model):
    """The target of ``Everything.category``, known by its code."""

    code = models.CharField(max_length=16, unique=True)

    def __str__(self) -> str:
        return f"Category {self.code}"


class Everything(models.Model):
    """One column of each kind the import must write as ``serializer.save()`` does: text,
    numbers at their limits, decimal, dates, times, JSON, UUID, foreign keys (one by
    ``to_field``), a plain and a
    callable default, a ``db_default``, ``auto_now`` and ``auto_now_add``. ``count`` has a check
    constraint the serializer does not know: the database refuses what validation let through."""

    name = models.CharField(max_length=20, unique=True)
    notes = models.TextField(blank=True)
    slug = models.SlugField(blank=True)
    amount = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    small = models.SmallIntegerField(default=0)
    count = models.IntegerField(default=0)
    big = models.BigIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)
    ratio = models.FloatField(null=True, blank=True)
    flag = models.BooleanField(default=False)
    maybe = models.BooleanField(null=True)
    day = models.DateField(null=True, blank=True)
    moment = models.DateTimeField(null=True, blank=True)
    clock = models.TimeField(null=True, blank=True)
    span = models.DurationField(null=True, blank=True)
    data = models.JSONField(null=True, blank=True)
    tags = models.JSONField(default=default_tags)
    ref = models.UUIDField(null=True, blank=True)
    token = models.UUIDField(default=uuid.uuid4)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT)
    shelf = models.ForeignKey(
        Category,
        to_field="code",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    label = models.CharField(max_length=10, default="plain")
    code = models.CharField(max_length=10, db_default="db-code")
    stamp = models.DateTimeField(db_default=Now())
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    touched_on = models.DateField(auto_now=True)

    class Meta:
        constraints = (
            models.CheckConstraint(
                condition=models.Q(count__lt=1_000_000), name="testapp_everything_count_limit"
            ),
        )

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """An artist's membership of a band, with the date they joined."""

    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="memberships")
    band = models.ForeignKey(Band, on_delete=models.CASCADE, related_name="memberships")
    date_joined = models.DateField()

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("artist", "band"), name="testapp_one_membership"),
        )


class CatalogueItemImportJob(ImportJob):
    """Catalogue items, matched by SKU; tags listed in one cell, the image by URL."""

    class Meta:
        proxy = True
        target_model = "testapp.CatalogueItem"
        serializer_class = "tests.testapp.serializers.CatalogueItemSerializer"


class CatalogueItemExportJob(ExportJob):
    """Catalogue items in the columns of ``CatalogueItemImportJob``."""

    class Meta:
        proxy = True
        target_model = "testapp.CatalogueItem"


class ArtistImportJob(ImportJob):
    """Artists, matched by name, with their bands and dates of joining in one cell."""

    class Meta:
        proxy = True
        target_model = "testapp.Artist"
        serializer_class = "tests.testapp.serializers.ArtistSerializer"


class ArtistExportJob(ExportJob):
    """Artists in the columns of ``ArtistImportJob``."""

    class Meta:
        proxy = True
        target_model = "testapp.Artist"


class EverythingImportJob(ImportJob):
    """``Everything`` rows, matched by name."""

    class Meta:
        proxy = True
        target_model = "testapp.Everything"
        serializer_class = "tests.testapp.serializers.EverythingSerializer"
        natural_key = ("name",)


class Keyed(models.Model):
    """A UUID primary key with a callable default: no sequence, the key is known before COPY."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=20, unique=True)

    def __str__(self) -> str:
        return self.name


class KeyedImportJob(ImportJob):
    """``Keyed`` rows, matched by name."""

    class Meta:
        proxy = True
        target_model = "testapp.Keyed"
        serializer_class = "tests.testapp.serializers.KeyedSerializer"
        natural_key = ("name",)


class Coded(models.Model):
    """A natural primary key the file gives."""

    code = models.CharField(max_length=12, primary_key=True)
    title = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return self.code


class CodedImportJob(ImportJob):
    """``Coded`` rows, matched by their primary key."""

    class Meta:
        proxy = True
        target_model = "testapp.Coded"
        serializer_class = "tests.testapp.serializers.CodedSerializer"
        natural_key = ("code",)


# --- validation fidelity: the library's answer per row against DRF's own ------------------------


class FidelityThing(models.Model):
    """Columns of the common kinds, and a unique constraint with a condition (only active rows
    must not share a code)."""

    code = models.CharField(max_length=12)
    title = models.CharField(max_length=20, blank=True)
    qty = models.IntegerField(null=True, blank=True)
    price = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    active = models.BooleanField(default=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("code",),
                condition=models.Q(active=True),
                name="testapp_fidelity_active_code",
            ),
        )

    def __str__(self) -> str:
        return self.code


class FidelityImportJob(ImportJob):
    """``FidelityThing`` rows, every row new, validated by the serializer class a test sets
    (``serializer_class`` on the class; the default is a plain ``ModelSerializer``)."""

    class Meta:
        proxy = True
        target_model = "testapp.FidelityThing"
        serializer_class = "tests.testapp.serializers.FidelityThingSerializer"
        natural_key = ()
