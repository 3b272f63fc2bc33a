"""``runserver`` plus an in-process Celery worker thread (when no broker is configured)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand


class Command(RunserverCommand):
    help = "Run the development server with a Celery worker thread in the same process."

    def inner_run(self, *args: Any, **options: Any) -> None:
        if getattr(settings, "DXT_INPROCESS_WORKER", False):
            from example_project.demo.worker import start_worker_thread

            start_worker_thread()
        super().inner_run(*args, **options)
