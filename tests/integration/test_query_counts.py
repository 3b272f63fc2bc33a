"""Queries per batch on PostgreSQL: the same count for 1,000 and 10,000 rows in one batch.

PostgreSQL inserts a whole batch in one statement, so here the counts are exactly equal; the fast
layer (SQLite, 999 parameters per statement) checks the same with Django's own INSERT split set
aside. The tasks run in this process (``.apply``); nothing is sent to the worker.
"""

from __future__ import annotations

import pytest
from django.db import connection

from data_exchange_tool import tasks
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
    assert len(import_10k) < 25


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
def test_relations_cost_exactly_the_same_queries_for_1000_and_10000_rows(
    monkeypatch, not_sent, job_type, headers, rows
):
    """New rows with two related objects each, then every row changing both (one kept, one
    dropped, one added; one membership redated): preview and import, exactly equal counts."""
    for code in TAG_CODES:
        Tag.objects.create(code=code, label=code.title())
    for title in BAND_TITLES:
        Band.objects.create(title=title)
    small = run_queries(job_type, headers, rows, 1_000, monkeypatch)
    large = run_queries(job_type, headers, rows, 10_000, monkeypatch)
    for few, many in zip(small, large, strict=True):
        assert len(many) == len(few), many
        assert len(many) < 30
