from __future__ import annotations

import time
from typing import Any

from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from data_exchange_tool import signals

        signals.import_finished.connect(pause_after_import, dispatch_uid="testapp-pause")


def pause_after_import(sender: Any, job: Any, **kwargs: Any) -> None:
    """Wait the job's ``options["pause_after_import"]`` seconds once its import's end commits,
    before the task goes on (to drop its staging): a test kills the worker in that window."""
    time.sleep(float((job.options or {}).get("pause_after_import", 0)))
