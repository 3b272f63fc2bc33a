"""
``manage.py import_file <job type> <path>``: preview a file, then import it when it is clean.

For cron jobs and scripts. The preview and the import run in this process (no worker needed),
with the same checks and the same lock as in the admin. The import starts only when the preview
found no invalid rows, or with ``--force`` (invalid rows are skipped). The exit status is 0 when
the file was imported (or previewed, with ``--preview-only``), 1 otherwise, with the reasons.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from data_exchange_tool import actions
from data_exchange_tool.exceptions import TransitionRefusedError, UploadRefusedError
from data_exchange_tool.management.commands._jobs import find_job_type, find_user
from data_exchange_tool.models import ImportJob
from data_exchange_tool.states import JobState
from data_exchange_tool.uploads import clean_delimiter, clean_encoding


class Command(BaseCommand):
    """Preview and import one file for a job type."""

    help = (
        "Preview a file (CSV, XLSX, XLS, ODS, XLSB, JSON, JSON Lines) for an import job type, "
        "then import it when clean or forced."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_type", help="Label (demo.stockrecordimportjob) or class name.")
        parser.add_argument("path", help="The file to import.")
        parser.add_argument(
            "--force", action="store_true", help="Import the valid rows even if some are invalid."
        )
        parser.add_argument("--user", help="Username recorded as uploader and confirmer.")
        parser.add_argument(
            "--preview-only", action="store_true", help="Stop after the preview (a dry run)."
        )
        parser.add_argument(
            "--max-errors", type=int, default=20, help="Row errors printed (default 20)."
        )
        parser.add_argument(
            "--encoding",
            default="",
            help="The file's text encoding (a Python codec: utf-8, cp1252, cp1251...); "
            "detected when left out.",
        )
        parser.add_argument(
            "--delimiter",
            default="",
            help="The CSV delimiter: , ; tab (or \\t) or |; detected when left out.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        job_type = find_job_type(options["job_type"], ImportJob)
        user = find_user(options["user"])
        path = options["path"]
        if not os.path.isfile(path):
            raise CommandError(f"No file at {path}.")
        try:
            reading = {
                "encoding": clean_encoding(options["encoding"]),
                "delimiter": clean_delimiter(options["delimiter"]),
            }
        except UploadRefusedError as exc:
            raise CommandError(str(exc)) from exc
        job = self.preview(job_type, path, user, options["force"], **reading)
        self.report_preview(job, options["max_errors"])
        if job.state != JobState.PREVIEW_SUCCEEDED:
            raise CommandError(f"Job #{job.pk}: the preview failed: {job.message}")
        if job.invalid_rows and not job.force_import:
            raise CommandError(
                f"Job #{job.pk}: {job.invalid_rows} invalid row(s), nothing was imported. "
                "Fix the file, or use --force to import the valid rows."
            )
        if options["preview_only"]:
            return
        self.run_import(job, user, options["max_errors"])

    def preview(
        self, job_type: type[ImportJob], path: str, user: Any, force: bool, **reading: str
    ) -> ImportJob:
        """Create the job and run its preview here; return the job after the preview.

        :param reading: the ``encoding`` and ``delimiter`` named ("" detects them).
        """
        name = os.path.basename(path)
        with open(path, "rb") as stream:
            job = actions.start_import(
                job_type,
                File(stream, name=name),
                user=user,
                force_import=force,
                in_process=True,
                encoding=reading["encoding"],
                delimiter=reading["delimiter"],
            )
        job.refresh_from_db()
        return job

    def run_import(self, job: ImportJob, user: Any, max_errors: int) -> None:
        """Confirm the job and run its import here; raise ``CommandError`` when it fails."""
        try:
            actions.confirm_import(job, user, in_process=True)
        except TransitionRefusedError as exc:
            raise CommandError(f"Job #{job.pk}: the import was refused: {exc}") from exc
        job.refresh_from_db()
        if job.state != JobState.IMPORT_SUCCEEDED:
            self.print_errors(job, "import", max_errors)
            raise CommandError(f"Job #{job.pk}: the import failed: {job.message}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Job #{job.pk}: imported {job.total_rows} row(s): {job.new_rows} new, "
                f"{job.updated_rows} updated, {job.unchanged_rows} unchanged, "
                f"{job.invalid_rows} skipped."
            )
        )

    def report_preview(self, job: ImportJob, max_errors: int) -> None:
        """Print the preview's counts and its first row errors."""
        self.stdout.write(
            f"Job #{job.pk} ({job._meta.verbose_name}), preview: {job.total_rows} row(s): "
            f"{job.new_rows} new, {job.updated_rows} updated, {job.unchanged_rows} unchanged, "
            f"{job.invalid_rows} invalid."
        )
        self.print_errors(job, "preview", max_errors)

    def print_errors(self, job: ImportJob, phase: str, max_errors: int) -> None:
        """Print up to ``max_errors`` row errors of a phase."""
        errors = job.row_errors.filter(phase=phase)
        for error in errors[:max_errors]:
            self.stderr.write(f"  {error}")
        hidden = errors.count() - max_errors
        if hidden > 0:
            self.stderr.write(f"  ... and {hidden} more.")
