"""
The run of an export: read the filtered queryset in chunks, render each row through the job type's
serializer and write the rows as a stream into the job storage.

Memory stays flat however many rows: the queryset is read with ``iterator(chunk_size=...)`` in pk
order (a server-side cursor on PostgreSQL), rows are rendered and written one chunk at a time, and
the writer streams into its sink (see ``writers``). Between chunks the run reports progress, at
most once per ``DATA_EXCHANGE_PROGRESS_INTERVAL``, in the same query that notices a cancel.

Rendering follows the serializer's ``to_representation`` field by field, with two shortcuts that
keep its output: a plain model attribute is read directly (no ``get_attribute`` walk), and a
``SlugRelatedField`` (a natural key) reads the related object loaded by ``select_related``, so a
chunk costs one query whatever the columns. Nothing here knows about Celery.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import (
    ManyRelatedField,
    PKOnlyObject,
    RelatedField,
    SlugRelatedField,
)

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import ExportCancelledError
from data_exchange_tool.states import ExportState
from data_exchange_tool.storage import get_storage
from data_exchange_tool.writers import get_writer_class, open_sink

if TYPE_CHECKING:
    from data_exchange_tool.models import ExportJob

Getter = Callable[[Any], Any]


@dataclass
class ExportResult:
    """What an export wrote."""

    name: str
    file_name: str
    size: int
    rows: int


def _related_value(source: str, attribute: str) -> Getter:
    def get(obj: Any) -> Any:
        related = getattr(obj, source)
        return None if related is None else getattr(related, attribute)

    return get


def _plain_value(source: str, to_representation: Callable[[Any], Any]) -> Getter:
    def get(obj: Any) -> Any:
        value = getattr(obj, source)
        return None if value is None else to_representation(value)

    return get


def _field_value(field: serializers.Field) -> Getter:
    def get(obj: Any) -> Any:
        try:
            value = field.get_attribute(obj)
        except SkipField:
            return None
        if value is None or (isinstance(value, PKOnlyObject) and value.pk is None):
            return None
        return field.to_representation(value)

    return get


class RowRenderer:
    """Render model instances as rows of the serializer's readable fields, in field order."""

    def __init__(self, serializer: serializers.Serializer, model: type[models.Model]) -> None:
        self.serializer = serializer
        self.model = model
        fields = [(name, f) for name, f in serializer.fields.items() if not f.write_only]
        self.headers = [name for name, _ in fields]
        self.select_related: list[str] = []
        self.getters = [self.getter(field) for _, field in fields]

    def _model_field(self, name: str) -> models.Field | None:
        try:
            return self.model._meta.get_field(name)  # type: ignore[return-value]
        except FieldDoesNotExist:
            return None

    def getter(self, field: serializers.Field) -> Getter:
        """Return the function that reads one column of an instance."""
        source = field.source
        model_field = self._model_field(source) if source and "." not in source else None
        if model_field is None or not getattr(model_field, "concrete", False):
            return _field_value(field)
        if (
            isinstance(field, SlugRelatedField)
            and "__" not in field.slug_field
            and (model_field.many_to_one or model_field.one_to_one)
        ):
            self.select_related.append(source)
            return _related_value(source, field.slug_field)
        if isinstance(field, RelatedField | ManyRelatedField | serializers.BaseSerializer):
            return _field_value(field)
        if model_field.is_relation:
            return _field_value(field)
        return _plain_value(source, field.to_representation)

    def prepare(self, queryset: models.QuerySet) -> models.QuerySet:
        """Return ``queryset`` with the related objects the columns read."""
        return queryset.select_related(*self.select_related) if self.select_related else queryset

    def render(self, obj: Any) -> list[Any]:
        """Return one row: the column values of ``obj``."""
        return [get(obj) for get in self.getters]


class ExportProgress:
    """Report rows written at a bounded rate; the same query tells whether the job still runs."""

    def __init__(self, job: ExportJob) -> None:
        self.job = job
        self.interval = float(app_settings.PROGRESS_INTERVAL)
        self._last = 0.0

    def _running(self) -> models.QuerySet:
        return type(self.job)._base_manager.filter(
            pk=self.job.pk, state=ExportState.EXPORT_IN_PROGRESS
        )

    def report(self, done: int, total: int, *, force: bool = False) -> bool:
        """Record progress when due; return False once the job is no longer running."""
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return True
        self._last = now
        updated = self._running().update(
            progress_done=done, progress_total=total, heartbeat_at=timezone.now()
        )
        return bool(updated)


def chunks(iterable: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """Yield lists of at most ``size`` items."""
    while chunk := list(itertools.islice(iterable, size)):
        yield chunk


class ExportRun:
    """One export of one job into one file."""

    def __init__(self, job: ExportJob, progress: ExportProgress) -> None:
        self.job = job
        self.progress = progress

    def execute(self) -> ExportResult:
        """Write every row of the job's queryset; return what was written."""
        job = self.job
        renderer = RowRenderer(job.get_serializer(), job.get_target_model())
        queryset = renderer.prepare(job.get_export_queryset())
        total = queryset.count()
        self.progress.report(0, total, force=True)
        writer_class = get_writer_class(job.get_format())
        file_name = job.get_file_name()
        sink = open_sink(get_storage(), job.get_storage_name(file_name), writer_class.content_type)
        try:
            writer = writer_class(sink, renderer.headers, bom=bool(job.options.get("bom")))
            rows = self.write(writer, queryset, renderer, total)
            writer.close()
            name = sink.commit()
        except BaseException:
            sink.abort()
            raise
        return ExportResult(name=name, file_name=file_name, size=sink.size, rows=rows)

    def write(
        self, writer: Any, queryset: models.QuerySet, renderer: RowRenderer, total: int
    ) -> int:
        """Write the rows chunk by chunk; raise ``ExportCancelledError`` when cancelled."""
        size = self.job.get_chunk_size()
        done = 0
        rows = queryset.iterator(chunk_size=size)
        try:
            for chunk in chunks(rows, size):
                writer.write_rows([renderer.render(obj) for obj in chunk])
                done += len(chunk)
                if not self.progress.report(done, max(done, total)):
                    raise ExportCancelledError(self.job.pk)
        finally:
            rows.close()
        return done
