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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models

from data_exchange_tool.exceptions import ExportCancelledError
from data_exchange_tool.exports.rendering import RowRenderer
from data_exchange_tool.progress import ProgressChannel
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


class ExportRun:
    """One export of one job into one file."""

    def __init__(self, job: ExportJob, channel: ProgressChannel) -> None:
        self.job = job
        self.channel = channel

    def execute(self) -> ExportResult:
        """Write every row of the job's queryset; return what was written."""
        job = self.job
        renderer = RowRenderer(
            job.get_serializer(), job.get_target_model(), job.get_many_separator()
        )
        queryset = renderer.prepare(job.get_export_queryset())
        total = queryset.count()
        self.channel.report(0, total, force=True)
        writer_class = get_writer_class(job.get_format())
        file_name = job.get_file_name()
        sink = open_sink(get_storage(), job.get_storage_name(file_name), writer_class.content_type)
        writer = None
        try:
            writer = writer_class(
                sink,
                renderer.headers,
                bom=bool(job.options.get("bom")),
                delimiter=job.options.get("delimiter") or ",",
                kinds=renderer.kinds,
            )
            rows = self.write(writer, queryset, renderer, total)
            writer.close()
            name = sink.commit()
        except BaseException:
            if writer is not None:
                writer.abort()
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
                self.channel.report(done, max(done, total))
                if self.channel.cancel_requested():
                    raise ExportCancelledError(self.job.pk)
        finally:
            rows.close()  # type: ignore[attr-defined]  # iterator() gives a generator
        return done
