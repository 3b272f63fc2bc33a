"""
``manage.py export_job <job type> <path>``: export a job type's rows, filtered, to a file.

For cron jobs and scripts. The export runs in this process (no worker needed: an ``in_process``
action) as a tracked ``ExportJob``: the file is written to the job storage as usual, then copied
to ``path``.
Filters are the FilterSet's parameters, ``--filter name=value`` (repeat a name for several values).
The format comes from ``--format``, else the path's extension, else the job type's default.
The exit status is 0 when the file was written, 1 otherwise.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from data_exchange_tool import actions
from data_exchange_tool.exceptions import ExportFilterError
from data_exchange_tool.management.commands._jobs import find_job_type, find_user
from data_exchange_tool.models import ExportJob
from data_exchange_tool.models.exports import EXPORT_FORMATS
from data_exchange_tool.states import ExportState
from data_exchange_tool.storage import open_stream


def parse_filters(pairs: list[str]) -> dict[str, Any]:
    """Return ``["a=1", "a=2", "b=x"]`` as ``{"a": ["1", "2"], "b": "x"}``."""
    filters: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CommandError(f"--filter takes name=value, not {pair!r}.")
        if name in filters:
            previous = filters[name]
            filters[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            filters[name] = value
    return filters


class Command(BaseCommand):
    """Export one job type's rows to a local file."""

    help = "Export the rows of an export job type, filtered, to a CSV or XLSX file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_type", help="Label (demo.stockrecordexportjob) or class name.")
        parser.add_argument("path", help="Where to write the file.")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="A FilterSet parameter; repeat for more.",
        )
        parser.add_argument("--format", choices=sorted(EXPORT_FORMATS), help="csv or xlsx.")
        parser.add_argument("--bom", action="store_true", help="Start a CSV with a BOM (Excel).")
        parser.add_argument(
            "--delimiter",
            default="",
            help="The CSV delimiter: , (default), ; (European Excel), tab or |.",
        )
        parser.add_argument("--user", help="Username recorded as the requester.")

    def handle(self, *args: Any, **options: Any) -> None:
        job_type = find_job_type(options["job_type"], ExportJob)
        path = options["path"]
        file_format = options["format"] or self.format_of(path)
        try:
            job = actions.start_export(
                job_type,
                filters=parse_filters(options["filter"]),
                file_format=file_format,
                user=find_user(options["user"]),
                options=self.file_options(options),
                in_process=True,
            )
        except ExportFilterError as exc:
            raise CommandError(str(exc)) from exc
        if job.state != ExportState.EXPORT_SUCCEEDED:
            raise CommandError(f"Export #{job.pk} failed: {job.message}")
        with open_stream(job.file.name or "") as stored, open(path, "wb") as target:
            shutil.copyfileobj(stored, target, 1024 * 1024)
        self.stdout.write(
            self.style.SUCCESS(
                f"Export #{job.pk}: {job.total_rows} row(s), {job.file_size} bytes, "
                f"in {job.duration.total_seconds() if job.duration else 0:.1f}s, written to {path}."
            )
        )

    def file_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Return the export's options: the BOM and the delimiter asked for."""
        chosen: dict[str, Any] = {"bom": True} if options["bom"] else {}
        if options["delimiter"]:
            chosen["delimiter"] = options["delimiter"]
        return chosen

    def format_of(self, path: str) -> str | None:
        """Return the format named by the path's extension, or None."""
        extension = os.path.splitext(path)[1].lower()
        return next((name for name, ext in EXPORT_FORMATS.items() if ext == extension), None)
