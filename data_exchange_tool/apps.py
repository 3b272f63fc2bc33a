"""Django app configuration: connects the system checks, the tasks and actions' reactions, and the
file clean-up of deleted jobs (their files, and the workbooks converted for their parts)."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataExchangeToolConfig(AppConfig):
    """The data_exchange_tool app."""

    name = "data_exchange_tool"
    verbose_name = _("Data exchange")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_delete, pre_delete

        from data_exchange_tool import (  # noqa: F401 - imported for what they register
            actions,  # the reactions (signal receivers), and through it the tasks
            checks,  # the system checks
        )
        from data_exchange_tool.models import ImportJob
        from data_exchange_tool.models.base import BaseJob, delete_job_file
        from data_exchange_tool.models.parts import delete_part_sources

        for model in apps.get_models():
            if issubclass(model, BaseJob):
                post_delete.connect(
                    delete_job_file, sender=model, dispatch_uid=f"dxt-file-{model._meta.label}"
                )
            if issubclass(model, ImportJob):
                pre_delete.connect(
                    delete_part_sources,
                    sender=model,
                    dispatch_uid=f"dxt-sources-{model._meta.label}",
                )
