"""
Django settings of the benchmark: the example project on a dedicated PostgreSQL database.

``scripts/bench.sh`` creates the database named by ``DXT_BENCH_DB`` and drops it afterwards. Job
files are read from ``bench/data/`` through the library's own storage alias, so the generated files
are not copied for each job. ``DEBUG`` is off: Django would otherwise keep every query.
"""

from __future__ import annotations

import os
from pathlib import Path

from example_project.settings import *  # noqa: F403

BENCH_DATA_DIR = Path(__file__).resolve().parent / "data"

DEBUG = False
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("DXT_BENCH_DB", "dxt_bench"),
        "HOST": os.environ.get("DXT_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DXT_PG_PORT", "5432"),
        "USER": os.environ.get("DXT_PG_USER", "postgres"),
        "PASSWORD": os.environ.get("DXT_PG_PASSWORD", ""),
    }
}
STORAGES = {
    **STORAGES,  # noqa: F405
    "data_exchange_tool": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(BENCH_DATA_DIR)},
    },
}
# Tasks are called in-process by the bench; the memory broker only swallows what save() sends.
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = False
DXT_INPROCESS_WORKER = False
# --workers (bench/workers.py): real worker processes, on the run's broker and queues.
if os.environ.get("DXT_BENCH_BROKER_URL"):
    CELERY_BROKER_URL = os.environ["DXT_BENCH_BROKER_URL"]
    CELERY_RESULT_BACKEND = None
    _QUEUE_PREFIX = os.environ["DXT_BENCH_QUEUE_PREFIX"]
    DATA_EXCHANGE_PREVIEW_QUEUE = f"{_QUEUE_PREFIX}_preview"
    DATA_EXCHANGE_IMPORT_QUEUE = f"{_QUEUE_PREFIX}_import"
    DATA_EXCHANGE_EXPORT_QUEUE = f"{_QUEUE_PREFIX}_export"
# Rows per part of a partitioned preview and import (#15; 0: one task for the whole file). A
# library without the setting ignores it.
if os.environ.get("DXT_BENCH_PART_ROWS"):
    DATA_EXCHANGE_PART_ROWS = int(os.environ["DXT_BENCH_PART_ROWS"])
LOGGING = {"version": 1, "disable_existing_loggers": False}
# The library's own defaults, not the demo's small batches and frequent progress writes.
for _name in ("DATA_EXCHANGE_BATCH_SIZE", "DATA_EXCHANGE_PROGRESS_INTERVAL"):
    globals().pop(_name, None)
# A bench run may change how many invalid and updated rows a preview keeps for its table.
if os.environ.get("DXT_BENCH_PREVIEW_KEEP_ROWS"):
    DATA_EXCHANGE_PREVIEW_KEEP_ROWS = int(os.environ["DXT_BENCH_PREVIEW_KEEP_ROWS"])
# A bench run may overlap validation and writing, or not (a comparison).
if os.environ.get("DXT_BENCH_OVERLAP_WRITES"):
    DATA_EXCHANGE_OVERLAP_WRITES = os.environ["DXT_BENCH_OVERLAP_WRITES"] not in ("0", "false")
