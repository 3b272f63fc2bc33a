"""Test-only models and job types (the demo app provides the main ones)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Now

from data_exchange_tool.models import ImportJob


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


class SlowStockRecordImportJob(ImportJob):
    """A second job type for stock records whose rows take a while (cancel and lock tests)."""

    #: Seconds each row waits before validation.
    row_delay = 0.002

    class Meta:
        proxy = True
        target_model = "demo.StockRecord"
        serializer_class = "example_project.demo.serializers.ImportStockRecordSerializer"
        batch_size = 100

    def before_import_row(self, row: dict, row_number: int) -> None:
        import time

        time.sleep(self.row_delay)


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
