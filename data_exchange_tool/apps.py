"""Django app configuration: connects the system checks."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataExchangeToolConfig(AppConfig):
    """The data_exchange_tool app."""

    name = "data_exchange_tool"
    verbose_name = _("Data exchange")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from data_exchange_tool import (
            checks,  # noqa: F401 - registers the checks
            export_tasks,  # noqa: F401 - registers the export task
        )
