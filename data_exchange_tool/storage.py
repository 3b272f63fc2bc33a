"""
Where job files live.

The library stores uploads (and exports) through one storage, chosen in this order:

1. ``MODEL_DATA_EXCHANGE_S3_BUCKET_NAME`` set: django-storages' ``S3Storage`` on that bucket, under
   ``MODEL_DATA_EXCHANGE_S3_BASE_PATH`` (the seed's settings);
2. the ``STORAGES`` alias named by ``DATA_EXCHANGE_STORAGE`` (``"data_exchange_tool"``) when the
   project defines it;
3. ``STORAGES["default"]``.

Files are read back as streams (``open_stream``): django-storages' S3 file object downloads the
whole object into memory, so for S3 we read the object's body from boto3 in chunks instead.
"""

from __future__ import annotations

import io
import logging
import os
import uuid
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.text import get_valid_filename

from data_exchange_tool.conf import LEGACY_NAMES, PREFIX, app_settings

logger = logging.getLogger(__name__)


def build_storage() -> Storage:
    """Return a new storage instance following the order in the module docstring."""
    bucket = app_settings.S3_BUCKET_NAME
    if bucket:
        from storages.backends.s3 import S3Storage

        return S3Storage(bucket_name=bucket, location=app_settings.S3_BASE_PATH or "")
    alias = app_settings.STORAGE
    if alias in settings.STORAGES:
        return storages[alias]
    return storages["default"]


class JobFileStorage(LazyObject):
    """The storage of job files, resolved on first use and again after settings change."""

    def _setup(self) -> None:
        self._wrapped = build_storage()


job_storage = JobFileStorage()


def get_storage() -> Any:
    """Return the storage of job files (the callable the models' file fields name)."""
    return job_storage


def reset_storage() -> None:
    """Forget the resolved storage, so the next use reads the settings again."""
    job_storage._wrapped = empty  # type: ignore[assignment]  # LazyObject's unset marker


@receiver(setting_changed)
def _reset_on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(PREFIX) or setting in (*LEGACY_NAMES.values(), "STORAGES"):
        reset_storage()


def upload_to(instance: Any, filename: str) -> str:
    """Return the storage path of an uploaded file: type, date and a random folder."""
    label = (getattr(instance, "job_type", "") or "import").replace(".", "_")
    name = get_valid_filename(os.path.basename(filename)) or "upload"
    day = timezone.now().strftime("%Y/%m/%d")
    return f"data_exchange/imports/{label}/{day}/{uuid.uuid4().hex}/{name}"


def _s3_body(storage: Any, name: str, byte_range: str = "") -> IO[bytes] | None:
    """Return a streaming body for an S3 object, or None when ``storage`` is not S3."""
    if not hasattr(storage, "bucket") or not hasattr(storage, "_normalize_name"):
        return None
    from storages.utils import clean_name

    key = storage._normalize_name(clean_name(name))
    if byte_range:
        return storage.bucket.Object(key).get(Range=byte_range)["Body"]
    return storage.bucket.Object(key).get()["Body"]


class _RawBody(io.RawIOBase):
    """Adapt botocore's StreamingBody to ``io.RawIOBase`` so it can be buffered and wrapped."""

    def __init__(self, body: Any) -> None:
        super().__init__()
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _current_storage() -> Any:
    if job_storage._wrapped is empty:
        job_storage._setup()
    return job_storage._wrapped


def open_stream(name: str) -> IO[bytes]:
    """Open a stored file for sequential binary reading, without loading it into memory."""
    storage = _current_storage()
    body = _s3_body(storage, name)
    if body is not None:
        return io.BufferedReader(_RawBody(body), buffer_size=256 * 1024)
    return storage.open(name, "rb")


class _Limited(io.RawIOBase):
    """The first ``size`` bytes of a stream (None: all of it)."""

    def __init__(self, stream: IO[bytes], size: int | None) -> None:
        super().__init__()
        self._stream = stream
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wanted = len(buffer) if self._left is None else min(len(buffer), self._left)
        data = self._stream.read(wanted) if wanted else b""
        buffer[: len(data)] = data
        if self._left is not None:
            self._left -= len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def open_range(name: str, start: int, end: int | None = None) -> IO[bytes]:
    """Open bytes ``start`` to ``end`` (excluded; None: the end of the file) of a stored file.

    On S3 one ranged GET; elsewhere the file is opened and sought to ``start``.
    """
    if end is not None and end <= start:
        return io.BytesIO(b"")
    storage = _current_storage()
    byte_range = f"bytes={start}-{'' if end is None else end - 1}"
    body = _s3_body(storage, name, byte_range)
    if body is not None:
        return io.BufferedReader(_RawBody(body), buffer_size=256 * 1024)
    stream = storage.open(name, "rb")
    stream.seek(start)
    size = None if end is None else end - start
    return io.BufferedReader(_Limited(stream, size), buffer_size=256 * 1024)


def delete_file_on_commit(storage: Any, name: str, *, always: bool = False) -> None:
    """Delete a stored file no job refers to any more, once the transaction commits.

    Does nothing when ``DATA_EXCHANGE_DELETE_FILES`` is off, unless ``always`` (a partial file
    nobody can use). A failure is logged, never raised: the job's change has been committed.
    """
    if not name or not (always or app_settings.DELETE_FILES):
        return

    def delete() -> None:
        try:
            storage.delete(name)
        except Exception:  # storages raise OSError, botocore errors, ...
            logger.warning("Could not delete the stored file %r", name, exc_info=True)

    transaction.on_commit(delete)


def is_s3_storage(storage: Any) -> bool:
    """Return True for django-storages' ``S3Storage`` (and subclasses)."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is an extra
        return False
    return isinstance(storage, S3Storage)  # a LazyObject passes on its wrapped class


def download_url(name: str, download_name: str, expire: int = 300) -> str | None:
    """Return a short-lived URL of a stored file where the storage gives one (S3), else None."""
    storage = _current_storage()
    if not name or not is_s3_storage(storage):
        return None
    disposition = f'attachment; filename="{download_name}"'
    return storage.url(name, parameters={"ResponseContentDisposition": disposition}, expire=expire)
