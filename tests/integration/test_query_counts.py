"""Queries per batch on PostgreSQL: the same count for 1,000 and 10,000 rows in one batch.

PostgreSQL inserts a whole batch in one statement (``COPY``), so here the counts are exactly equal;
the fast layer (SQLite, 999 parameters per statement) checks the same with Django's own INSERT
split set aside. The import's ``COPY`` statements pass by Django's cursor: the writer runs them
through the connection's execute wrappers and query log (``copying.observed``), so
``CaptureQueriesContext`` counts them with the rest, and the tests check it does. The tasks run in
this process (``.apply``); nothing is sent to the worker.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from data_exchange_tool import actions, tasks
from data_exchange_tool.states import JobState
from example_project.demo.models import StockRecord, StockRecordImportJob
from tests.helpers import create_job, csv_bytes, stock_rows, store_stock_rows
from tests.imports.test_pipeline import task_queries
from tests.imports.test_relations import (
    ARTIST_HEADERS,
    BAND_TITLES,
    ITEM_HEADERS,
    TAG_CODES,
    artist_rows,
    item_rows,
    run_queries,
)
from tests.testapp.models import ArtistImportJob, Band, CatalogueItemImportJob, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def not_sent(monkeypatch):
    """Keep the tasks in this process: nothing reaches the broker."""
    for task in (tasks.preview_job, tasks.import_job):
        monkeypatch.setattr(task, "apply_async", lambda *args, **kwargs: None)


def test_one_batch_costs_the_same_queries_for_1000_and_10000_rows(catalogue, monkeypatch, not_sent):
    assert connection.vendor == "postgresql"
    preview_1k, import_1k = task_queries(1_000, 20_000, monkeypatch)
    preview_10k, import_10k = task_queries(10_000, 20_000, monkeypatch)
    assert len(preview_10k) == len(preview_1k), preview_10k
    assert len(import_10k) == len(import_1k), import_10k
    assert len(import_10k) < 28
    assert len(copies(import_1k)) == len(copies(import_10k)) == 1  # the COPY is counted


def test_queries_grow_by_a_constant_per_batch(catalogue, monkeypatch, not_sent):
    preview, imports = {}, {}
    for count in (1_000, 2_000, 10_000):
        preview[count], imports[count] = map(len, task_queries(count, 1_000, monkeypatch))
    for queries in (preview, imports):
        assert queries[10_000] - queries[1_000] == 9 * (queries[2_000] - queries[1_000]), queries
        assert queries[2_000] - queries[1_000] <= 6


@pytest.mark.parametrize(
    ("job_type", "headers", "rows"),
    [
        (CatalogueItemImportJob, ITEM_HEADERS, item_rows),
        (ArtistImportJob, ARTIST_HEADERS, artist_rows),
    ],
    ids=["tags", "memberships"],
)
@pytest.mark.parametrize("overlap", [True, False], ids=["overlapped", "in-line"])
def test_relations_cost_exactly_the_same_queries_for_1000_and_10000_rows(
    monkeypatch, settings, not_sent, job_type, headers, rows, overlap
):
    """New rows with two related objects each, then every row changing both (one kept, one
    dropped, one added; one membership redated): preview and import, exactly equal counts.
    Overlapped, the many-to-many rows are written on the import's thread, in its transaction
    (on the background thread the ORM would open a connection of its own)."""
    settings.DATA_EXCHANGE_OVERLAP_WRITES = overlap
    for code in TAG_CODES:
        Tag.objects.create(code=code, label=code.title())
    for title in BAND_TITLES:
        Band.objects.create(title=title)
    small = run_queries(job_type, headers, rows, 1_000, monkeypatch)
    large = run_queries(job_type, headers, rows, 10_000, monkeypatch)
    for few, many in zip(small, large, strict=True):
        assert len(many) == len(few), many
        assert len(many) < 30


def copies(queries: list[str]) -> list[str]:
    return [sql for sql in queries if sql.startswith("COPY ")]


def update_queries(count: int, batch_size: int, monkeypatch) -> tuple[list[str], list[str]]:
    """Store ``count`` stock records, then preview and import a file of the same rows where
    every other one has a new price; return the SQL of each task."""
    StockRecord.objects.all().delete()
    rows = stock_rows(count, partner="Globex")
    store_stock_rows(rows)
    for row in rows[::2]:
        row[3] = "0.25"
    monkeypatch.setattr(StockRecordImportJob, "batch_size", batch_size)
    job = create_job(csv_bytes(rows))
    with CaptureQueriesContext(connection) as preview:
        tasks.preview_job.apply((job.pk,))
    job.refresh_from_db()
    assert (job.updated_rows, job.unchanged_rows) == (count // 2, count // 2), job.message
    actions.confirm_import(job)
    with CaptureQueriesContext(connection) as run:
        tasks.import_job.apply((job.pk,))
    job.refresh_from_db()
    assert (job.state, job.updated_rows) == (JobState.IMPORT_SUCCEEDED, count // 2), job.message
    assert StockRecord.objects.filter(price=Decimal("0.25")).count() == count // 2
    return [q["sql"] for q in preview], [q["sql"] for q in run]


def test_updates_cost_the_same_queries_for_1000_and_10000_rows(catalogue, monkeypatch, not_sent):
    preview_1k, import_1k = update_queries(1_000, 20_000, monkeypatch)
    preview_10k, import_10k = update_queries(10_000, 20_000, monkeypatch)
    assert len(preview_10k) == len(preview_1k), preview_10k
    assert len(import_10k) == len(import_1k), import_10k
    assert len(copies(import_1k)) == len(copies(import_10k)) == 1  # into the temporary table
    assert [sql.split()[0] for sql in import_10k if sql.startswith(("TRUNCATE", 'UPDATE "demo'))]
    assert len(import_10k) < 28


def test_updates_grow_by_a_constant_per_batch(catalogue, monkeypatch, not_sent):
    imports = {}
    for count in (1_000, 2_000, 6_000):
        imports[count] = len(update_queries(count, 1_000, monkeypatch)[1])
    per_batch = imports[2_000] - imports[1_000]
    assert imports[6_000] - imports[1_000] == 5 * per_batch, imports
    # The existing rows (between the two planner settings: queries.Probing), TRUNCATE, COPY,
    # UPDATE, the cancel check.
    assert per_batch <= 8
