"""
Files given by URL (``fields.FileFromURLField``): compared with the stored file, downloaded in bulk.

In validation (preview and import) ``FileColumns.compare`` says what a URL means for a row that
updates a stored one: the URL of its current file (an exported file imported back: the same
address, the query string aside, since signed S3 URLs change at every export) keeps the file
and is no change; any other URL is a change. A URL without a scheme is only accepted as the
current file's URL (storages such as ``FileSystemStorage`` give relative URLs).

Before the import writes a batch, ``BatchDownloads.fetch`` downloads the batch's new files at
once, in a thread pool of ``DATA_EXCHANGE_URL_WORKERS``, each into its model field's storage
under the name ``FieldFile.save`` would give it (``upload_to``) for the URL's file name with a
short digest of the URL added (``lamp-1a2b3c4d.png``): URLs that end alike
(``.../12/main.jpg``, ``.../13/main.jpg``) never share a name, which a storage that overwrites
(django-storages' S3 by default) would otherwise turn into one file. The row's value becomes the
stored name. A download that fails is that row's error: a forced import skips the row, another
import rolls back. Files stored by an import that does not commit are deleted again
(``discard``). A file a row replaces stays in storage, as with Django's own ``FieldFile.save``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.files import File
from django.db import models

from data_exchange_tool.conf import app_settings
from data_exchange_tool.exceptions import URLFetchError
from data_exchange_tool.fetching import download, file_name_of
from data_exchange_tool.fields import FileFromURLField
from data_exchange_tool.states import RowAction

if TYPE_CHECKING:
    from django.core.files.storage import Storage
    from rest_framework import serializers

    from data_exchange_tool.imports.outcomes import RowOutcome
    from data_exchange_tool.models import ImportJob

#: The message of a relative URL that is not the row's current file's.
RELATIVE_URL = (
    "Enter a full URL (http:// or https://); a URL without one is only accepted as the URL of "
    "the row's current file."
)


def stored_name(url: str) -> str:
    """Return the file name to store a URL's file under: its own, with the URL's digest."""
    stem, extension = os.path.splitext(file_name_of(url))
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]
    return f"{stem}-{digest}{extension}"


def is_absolute(url: str) -> bool:
    """Return True for a URL with a scheme (one the import may download)."""
    return bool(urlsplit(url).scheme) or url.startswith("//")


def url_of(stored: Any) -> str:
    """Return the URL of a stored file ("" for none, its name when the storage gives none)."""
    if not stored:
        return ""
    try:
        return stored.url
    except Exception:  # a storage that cannot give URLs: NotImplementedError, ValueError...
        return stored.name


def same_file(url: str, stored: Any) -> bool:
    """Return True when ``url`` is the stored file's URL (query string and fragment aside)."""
    if not stored:
        return not url
    current = url_of(stored)
    return bool(url) and urlsplit(url)[:3] == urlsplit(current)[:3]


@dataclass(frozen=True)
class FileColumn:
    """A ``FileFromURLField`` of the serializer and the model ``FileField`` it fills."""

    name: str
    source: str
    model_field: models.FileField


def file_columns(
    model: type[models.Model], fields: dict[str, serializers.Field]
) -> list[FileColumn]:
    """Return the serializer's file-by-URL fields that fill a model ``FileField``."""
    columns = []
    for name, field in fields.items():
        if not isinstance(field, FileFromURLField) or field.read_only:
            continue
        model_field = next((f for f in model._meta.concrete_fields if f.name == field.source), None)
        if isinstance(model_field, models.FileField):
            columns.append(FileColumn(name, model_field.name, model_field))  # its source
    return columns


class FileColumns:
    """Compare each row's file URLs with its stored files (see the module docstring)."""

    def __init__(
        self,
        model: type[models.Model],
        fields: dict[str, serializers.Field],
        header_of: dict[str, str],
    ) -> None:
        self.columns = file_columns(model, fields)
        self.header_of = header_of

    def __bool__(self) -> bool:
        return bool(self.columns)

    def compare(self, outcomes: Iterable[RowOutcome]) -> None:
        """Keep a row's current file when its URL is given again; refuse other relative URLs."""
        for outcome in outcomes:
            if outcome.errors:
                continue
            existing = outcome.action in (RowAction.UPDATE, RowAction.UNCHANGED)
            for column in self.columns:
                self._compare(outcome, column, existing)
            if existing and not outcome.errors:
                changed = outcome.changes or outcome.relation_changes
                outcome.action = RowAction.UPDATE if changed else RowAction.UNCHANGED

    def _compare(self, outcome: RowOutcome, column: FileColumn, existing: bool) -> None:
        validated = outcome.validated or {}
        url = validated.get(column.source)
        if url is None:
            return
        stored = self._stored(outcome, column) if existing else None
        if existing and same_file(url, stored):
            name = stored.name if stored else ""
            validated[column.source] = name
            if outcome.row is not None:
                outcome.row[column.model_field.attname] = name
            outcome.changes.pop(column.source, None)
        elif url and not is_absolute(url):
            outcome.fail(self.header_of.get(column.name, column.name), RELATIVE_URL)
        elif existing:
            outcome.changes[column.source] = (url_of(stored), url)

    @staticmethod
    def _stored(outcome: RowOutcome, column: FileColumn) -> Any:
        """Return the stored row's file (a ``FieldFile``), from the value validation compared.

        The stored name is the old side of the column's change; a row whose URL equals the
        stored name letter for letter shows no change, and keeps its file either way.
        """
        change = outcome.changes.get(column.source)
        name = change[0] if change is not None else (outcome.validated or {}).get(column.source)
        if not name:
            return None
        field = column.model_field
        return field.attr_class(None, field, name)  # type: ignore[arg-type]  # no instance needed


@dataclass
class Fetch:
    """One file to download for one row."""

    outcome: RowOutcome
    column: FileColumn
    url: str
    name: str
    stored: str = ""
    error: str = ""
    failure: BaseException | None = None


def _store(fetch: Fetch) -> Fetch:
    """Download one file and save it into its field's storage (run in a worker thread)."""
    try:
        fetched = download(fetch.url)
    except URLFetchError as exc:
        fetch.error = f"Could not download {fetch.url}: {exc}"
        return fetch
    field = fetch.column.model_field
    try:
        with fetched.file:
            fetch.stored = field.storage.save(
                fetch.name, File(fetched.file, name=fetch.name), max_length=field.max_length
            )
    except BaseException as exc:  # the storage failed: the import fails, not the row
        fetch.failure = exc
    return fetch


class BatchDownloads:
    """Download the files of a batch's written rows before the batch is written."""

    def __init__(self, job: ImportJob) -> None:
        serializer = job.get_serializer()
        self.columns = file_columns(job.get_target_model(), dict(serializer.fields))
        #: ``(storage, name)`` of every file this run stored, to delete if it does not commit.
        self.saved: list[tuple[Storage, str]] = []

    def fetch(self, outcomes: Sequence[RowOutcome], header_of: dict[str, str]) -> None:
        """Download the batch's new files; a failed download is its row's error."""
        if not self.columns:
            return
        fetches = self._fetches(outcomes)
        if not fetches:
            return
        workers = max(1, min(int(app_settings.URL_WORKERS), len(fetches)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dxt-url") as pool:
            done = list(pool.map(_store, fetches))
        self.saved.extend((f.column.model_field.storage, f.stored) for f in done if f.stored)
        failure = next((f.failure for f in done if f.failure is not None), None)
        if failure is not None:
            raise failure
        for fetch in done:
            if fetch.error:
                column = fetch.column
                fetch.outcome.fail(header_of.get(column.name, column.name), fetch.error)
        self._apply([f for f in done if f.stored])

    def _fetches(self, outcomes: Sequence[RowOutcome]) -> list[Fetch]:
        fetches = []
        for outcome in outcomes:
            if outcome.action not in (RowAction.NEW, RowAction.UPDATE):
                continue
            for column in self.columns:
                url = (outcome.validated or {}).get(column.source)
                if not url or not is_absolute(url):
                    continue
                if outcome.action == RowAction.UPDATE and column.source not in outcome.changes:
                    continue
                instance = column.model_field.model(**(outcome.row or {}))  # for upload_to
                name = column.model_field.generate_filename(instance, stored_name(url))
                fetches.append(Fetch(outcome, column, url, name))
        return fetches

    def _apply(self, stored: list[Fetch]) -> None:
        """Give each row its stored names; a row that failed keeps none of its files."""
        for fetch in stored:
            outcome, source = fetch.outcome, fetch.column.source
            if outcome.errors:
                self._delete(fetch.column.model_field.storage, fetch.stored)
                continue
            (outcome.validated or {})[source] = fetch.stored
            if outcome.row is not None:
                outcome.row[fetch.column.model_field.attname] = fetch.stored
            if source in outcome.changes:
                outcome.changes[source] = (outcome.changes[source][0], fetch.stored)

    def _delete(self, storage: Storage, name: str) -> None:
        storage.delete(name)
        self.saved.remove((storage, name))

    def discard(self) -> None:
        """Delete every file this run stored (its import did not commit)."""
        saved, self.saved = self.saved, []
        for storage, name in saved:
            storage.delete(name)
