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
    # Rows per part of a partitioned preview or import (PostgreSQL, CSV): a file estimated to hold
    # more rows is cut into parts validated by tasks of their own, on as many workers as there
    # are. 0: never (one task per job).
    "PART_ROWS": 0,
    # Rows kept per planned action (new / update / unchanged) as the preview's sample.
    "PREVIEW_SAMPLE_SIZE": 50,
    # Invalid and updated rows the preview keeps in full for its table, per action: the first
    # ones of the file (a million-row file keeps at most this many; the page says where it cuts).
    "PREVIEW_KEEP_ROWS": 10_000,
    # Seconds between two progress writes of a running task (a bounded rate).
    "PROGRESS_INTERVAL": 1.0,
    # Seconds without a heartbeat after which a running job is taken as dead, where the database
    # cannot tell (ADVISORY_LOCKS off, or not PostgreSQL), and for an import no task started yet.
    "HEARTBEAT_TIMEOUT": 900,
    # On PostgreSQL, a running task holds a session-level advisory lock on its job, so a dead
    # worker is known at once. Turn it off behind a pooler in transaction mode (PgBouncer), where
    # a session lock outlives the task that took it.
    "ADVISORY_LOCKS": True,
    # Times a preview, import or export starts before its job fails: a task whose worker died
    # (killed, out of memory) is delivered again and starts over, this many times at most.
    "MAX_ATTEMPTS": 3,
    # Largest accepted upload, in bytes.
    "MAX_FILE_SIZE": 512 * 1024 * 1024,
    # Largest accepted cell, in characters (Excel's own limit).
    "MAX_CELL_LENGTH": 32767,
    # Largest uncompressed size of an XLSX archive, in bytes (zip bomb guard).
    "MAX_XLSX_UNCOMPRESSED_SIZE": 2 * 1024 * 1024 * 1024,
    # Largest compression ratio of one XLSX member (zip bomb guard).
    "MAX_XLSX_COMPRESSION_RATIO": 200,
    # Sheets of an XLSX workbook with at least this many bytes of XML are read by a child
    # process while the preview validates (two cores work at once); None reads every sheet in
    # the task's own process.
    "XLSX_PROCESS_THRESHOLD": 4 * 1024 * 1024,
    # The legacy code pages a CSV file without a BOM that is not UTF-8 may be in, the most
    # common first: charset-normalizer picks among them, and the order breaks its ties (German
    # text reads alike in cp1250 and cp1252); Windows code pages win over the others when both
    # read a file plausibly. Leave a code page out to refuse files in it. DOS Latin code pages
    # (cp437, cp850) are not listed: they won German samples of two rows from cp1252.
    "CSV_ENCODINGS": (
        "cp1252",
        "cp1250",
        "cp1251",
        "cp932",
        "cp1254",
        "cp1253",
        "cp1257",
        "cp1255",
        "cp1256",
        "cp1258",
        "cp874",
        "cp949",
        "gb18030",
        "cp950",
        "big5",
        "shift_jis",
        "euc_jp",
        "euc_kr",
        "koi8_r",
        "koi8_u",
        "iso8859_2",
        "latin_1",
        "iso8859_5",
        "iso8859_7",
        "iso8859_9",
        "mac_roman",
        "cp866",
    ),
    # Delimiters a CSV file is sniffed for (the first is taken when none splits the file).
    "CSV_DELIMITERS": ",;\t|",
    # Prefix cells a spreadsheet would run as formulas in files we write.
    "NEUTRALIZE_FORMULAS": True,
    # Delete a job's stored file when the job is deleted or its upload replaced by a new one.
    "DELETE_FILES": True,
    # Cache alias used for progress and cancel flags where the database cannot carry them
    # outside the import transaction (SQLite).
    "CACHE": "default",
    # What separates the items of a many-to-many cell ("red;blue"); a job type's
    # ``many_separator`` overrides it.
    "MANY_SEPARATOR": ";",
    # Hosts whose URLs may be downloaded even when they resolve to a private, loopback or other
    # internal address (Django's ALLOWED_HOSTS syntax: "files.internal", ".example.com").
    "URL_ALLOWED_HOSTS": (),
    # Largest file downloaded from a URL, in bytes.
    "URL_MAX_SIZE": 20 * 1024 * 1024,
    # Seconds to wait for a download's connection to open.
    "URL_CONNECT_TIMEOUT": 5.0,
    # Seconds to wait for each answer or chunk of a download.
    "URL_READ_TIMEOUT": 30.0,
    # Seconds a whole download may take (a server sending a byte now and then stops here).
    "URL_DOWNLOAD_TIMEOUT": 120.0,
    # Redirects a download follows, each checked like the first URL.
    "URL_MAX_REDIRECTS": 3,
    # Downloads run at once within a batch (a thread pool of this size).
    "URL_WORKERS": 4,
    # Send batch N from a background thread while batch N+1 is validated (PostgreSQL's COPY path;
    # a job type overriding after_import_row writes in line). The batch is encoded on the
    # import's thread; the background thread only waits for the server. False: validate, then
    # write, one after the other.
    "OVERLAP_WRITES": True,
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
