"""The example project: a demo shop whose staff import stock records."""

from __future__ import annotations

from example_project.celery import app as celery_app

__all__ = ["celery_app"]
