"""
The run of an export: read the filtered queryset in chunks, render each row through the job type's
serializer (``rendering``) and write the rows as a stream into the job storage (``writers``).

Memory stays flat however many rows: the queryset is read with ``iterator(chunk_size=...)`` in pk
order (a server-side cursor on PostgreSQL), rows are rendered and written one chunk at a time, and
the writer streams into its sink. Between chunks the run reports progress, at most once per
``DATA_EXCHANGE_PROGRESS_INTERVAL``, in the same query that notices a cancel. Nothing here knows
about Celery.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import ExportCancelledError
from data_exchange_tool.exports.rendering import RowRenderer
from data_exchange_tool.states import ExportState
from data_exchange_tool.storage import get_storage
from data_exchange_tool.utils import batched
from data_exchange_tool.writers import get_writer_class, open_sink

if TYPE_CHECKING:
    from data_exchange_tool.models import ExportJob


@dataclass
class ExportResult:
    """What an export wrote."""

    name: str
    file_name: str
    size: int
    rows: int


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
            for chunk in batched(rows, size):
                writer.write_rows(renderer.render_chunk(chunk))
                done += len(chunk)
                if not self.progress.report(done, max(done, total)):
                    raise ExportCancelledError(self.job.pk)
        finally:
            rows.close()
        return done
