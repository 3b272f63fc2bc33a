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


@pytest.fixture
def wsgi_app():
    """The project's WSGI application, keeping the test's connection (as Django's test client)."""
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def file_server(settings):
    """A file server on 127.0.0.1, which downloads may use (``URL_ALLOWED_HOSTS``)."""
    from tests.fileserver import FileServer

    settings.DATA_EXCHANGE_URL_ALLOWED_HOSTS = ["127.0.0.1"]
    server = FileServer().start()
    yield server
    server.stop()
