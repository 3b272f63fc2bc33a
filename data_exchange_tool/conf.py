"""
Settings for data_exchange_tool, read in one place.

Every setting is a flat ``DATA_EXCHANGE_<NAME>`` in the project's settings, falling back to
``DEFAULTS`` below; the seed's S3 names ``MODEL_DATA_EXCHANGE_S3_BUCKET_NAME`` and
``MODEL_DATA_EXCHANGE_S3_BASE_PATH`` are kept as the original named them. Values are cached and
the cache is cleared on ``setting_changed``, so ``override_settings`` works in tests::

    from data_exchange_tool.conf import app_settings
    app_settings.PREVIEW_QUEUE
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

PREFIX = "DATA_EXCHANGE_"

DEFAULTS: dict[str, Any] = {
    # Celery queue of the preview tasks (the seed's name and default).
    "PREVIEW_QUEUE": "data_exchange_shared_queue",
    # Celery queue of the import tasks.
    "IMPORT_QUEUE": "data_exchange_shared_queue",
    # Celery queue of the export tasks.
    "EXPORT_QUEUE": "data_exchange_shared_queue",
    # The STORAGES alias for uploaded and exported files; falls back to "default" when absent.
    "STORAGE": "data_exchange_tool",
    # Rows validated and written together: one query per batch for related objects and natural keys.
    "BATCH_SIZE": 1000,
    # Rows kept per planned action (new / update / unchanged) as the preview's sample.
    "PREVIEW_SAMPLE_SIZE": 50,
    # Invalid and updated rows the preview keeps in full for its table, per action: the first
    # ones of the file (a million-row file keeps at most this many; the page says where it cuts).
    "PREVIEW_KEEP_ROWS": 10_000,
    # Seconds between two progress writes of a running task (a bounded rate).
    "PROGRESS_INTERVAL": 1.0,
    # Seconds without a heartbeat after which a running job is taken as dead and failed.
    "HEARTBEAT_TIMEOUT": 900,
    # Largest accepted upload, in bytes.
    "MAX_FILE_SIZE": 512 * 1024 * 1024,
    # Largest accepted cell, in characters (Excel's own limit).
    "MAX_CELL_LENGTH": 32767,
    # Largest uncompressed size of an XLSX archive, in bytes (zip bomb guard).
    "MAX_XLSX_UNCOMPRESSED_SIZE": 2 * 1024 * 1024 * 1024,
    # Largest compression ratio of one XLSX member (zip bomb guard).
    "MAX_XLSX_COMPRESSION_RATIO": 200,
    # Encodings tried, in order, when a CSV file is not UTF-8.
    "CSV_FALLBACK_ENCODINGS": ("cp1252", "latin-1"),
    # Delimiters a CSV header line is sniffed for.
    "CSV_DELIMITERS": ",;\t|",
    # Prefix cells a spreadsheet would run as formulas in files we write.
    "NEUTRALIZE_FORMULAS": True,
    # Delete a job's stored file when the job is deleted or its upload replaced by a new one.
    "DELETE_FILES": True,
    # Cache alias used for progress and cancel flags where the database cannot carry them
    # outside the import transaction (SQLite).
    "CACHE": "default",
    # Write batch N on a background thread while batch N+1 is validated (PostgreSQL's COPY path;
    # a job type overriding after_import_row writes in line). It can only pay where PostgreSQL
    # has cores of its own; on a machine whose cores were all busy it measured ~10% slower.
    "OVERLAP_WRITES": False,
}

# Settings kept under the seed's own names.
LEGACY_NAMES = {
    "S3_BUCKET_NAME": "MODEL_DATA_EXCHANGE_S3_BUCKET_NAME",
    "S3_BASE_PATH": "MODEL_DATA_EXCHANGE_S3_BASE_PATH",
}
LEGACY_DEFAULTS: dict[str, Any] = {"S3_BUCKET_NAME": None, "S3_BASE_PATH": ""}


class AppSettings:
    """Read ``DATA_EXCHANGE_*`` settings with defaults; unknown names raise ``AttributeError``."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def setting_name(self, name: str) -> str:
        """Return the Django setting that holds ``name``."""
        return LEGACY_NAMES.get(name, PREFIX + name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._cache:
            return self._cache[name]
        if name in DEFAULTS:
            default = DEFAULTS[name]
        elif name in LEGACY_DEFAULTS:
            default = LEGACY_DEFAULTS[name]
        else:
            raise AttributeError(f"Invalid data_exchange_tool setting: {name!r}")
        value = getattr(settings, self.setting_name(name), default)
        self._cache[name] = value
        return value

    def reload(self) -> None:
        """Forget cached values (called on ``setting_changed``)."""
        self._cache.clear()


app_settings = AppSettings()


def use_tz() -> bool:
    """Return Django's ``USE_TZ``: the import writes datetimes as Django's fields would."""
    return bool(settings.USE_TZ)


@receiver(setting_changed)
def _reload_settings(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(PREFIX) or setting in LEGACY_NAMES.values():
        app_settings.reload()
