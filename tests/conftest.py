"""Fixtures shared by both test layers."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

import tests.celery  # noqa: F401 - binds the shared tasks to the tests' Celery app
from tests.helpers import make_catalogue


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Forget cached progress and cancel flags: a rolled-back SQLite test database reuses job ids.

    Only local-memory caches: a Redis cache shares its database with the broker.
    """
    yield
    for cache in caches.all(initialized_only=True):
        if isinstance(cache, LocMemCache):
            cache.clear()


@pytest.fixture
def catalogue(db):
    """Partners ACME and Globex, products P-1..P-3."""
    return make_catalogue()


@pytest.fixture
def categories(db):
    """Categories red and blue (``tests.testapp``: the target of ``Everything.category``)."""
    from tests.testapp.models import Category

    return {code: Category.objects.create(code=code) for code in ("red", "blue")}


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the tasks) as the block ends, like a committed request."""

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    return runner
