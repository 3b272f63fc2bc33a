"""
``manage.py reap_stale_jobs``: fail the jobs whose task died.

A preview, import or export whose worker died stays in progress until its task is delivered again
or a worker starts; this command (from cron) or the ``data_exchange_tool.reap_stale_jobs`` task
(from celery beat) fails it (``liveness``: on PostgreSQL its lease is free, elsewhere it sent no
heartbeat for ``DATA_EXCHANGE_HEARTBEAT_TIMEOUT`` seconds), so a person sees that the job must run
again and the import lock of its target is free. Then it drops the staging tables and converted
workbooks of partitioned jobs that finished, or were deleted, without dropping them (a worker
killed between the end's commit and the drop: ``liveness.sweep_staging``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from data_exchange_tool.liveness import reap_stale_jobs, sweep_staging


class Command(BaseCommand):
    help = (
        "Fail the previews, imports and exports whose task died, and drop the staging that "
        "finished or deleted jobs left behind."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = reap_stale_jobs()
        self.stdout.write(
            f"Failed {counts['previews']} preview(s), {counts['imports']} import(s) and "
            f"{counts['exports']} export(s) whose task stopped responding."
        )
        swept = sweep_staging()
        self.stdout.write(
            f"Swept the staging tables and converted workbooks of {swept} finished or deleted "
            "job(s)."
        )
