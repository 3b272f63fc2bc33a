"""
An in-process Celery worker thread for the demo.

With no broker configured the demo sends tasks through kombu's in-memory transport and runs
them in a worker thread of the web process: real task messages, queues and acknowledgements, so
the admin's progress bar moves as it would in production, with nothing else to install.
"""

from __future__ import annotations

import contextlib
import logging

from django.conf import settings

logger = logging.getLogger(__name__)
_stack = contextlib.ExitStack()


def start_worker_thread() -> None:
    """Start one worker thread consuming the demo's preview, import and export queues."""
    from celery.contrib.testing.worker import start_worker

    from example_project.celery import app

    queues = sorted(
        {
            settings.DATA_EXCHANGE_PREVIEW_QUEUE,
            settings.DATA_EXCHANGE_IMPORT_QUEUE,
            getattr(settings, "DATA_EXCHANGE_EXPORT_QUEUE", "data_exchange_shared_queue"),
        }
    )
    _stack.enter_context(
        start_worker(
            app,
            pool="solo",
            concurrency=1,
            queues=queues,
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=10,
        )
    )
    logger.warning("demo: Celery worker thread consuming %s", ", ".join(queues))
