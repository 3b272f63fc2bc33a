"""The tests' Celery app: configured from Django settings (eager in the fast layer)."""

from __future__ import annotations

from celery import Celery

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["data_exchange_tool"])
