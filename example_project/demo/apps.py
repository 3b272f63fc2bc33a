"""The demo app of the example project."""

from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Partners, products and stock records, with import job types."""

    name = "example_project.demo"
    label = "demo"
    default_auto_field = "django.db.models.BigAutoField"
