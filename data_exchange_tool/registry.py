"""
The registry of job types.

A job type is a proxy subclass of ``ImportJob`` (or ``ExportJob``). Each one registers itself when
Django prepares the class (``class_prepared``, as django-model-utils does), so the admin, the API
and the tasks can find a job's type from the label stored on the job row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

from django.db.models.signals import class_prepared

if TYPE_CHECKING:
    from django.db import models

    _M = TypeVar("_M", bound=models.Model)

_job_types: dict[str, type[models.Model]] = {}


def register(model: type[models.Model]) -> None:
    """Add a job type; called on ``class_prepared`` for proxies of the job models."""
    _job_types[model._meta.label_lower] = model


def get_job_type(label: str) -> type[models.Model] | None:
    """Return the job type registered under ``label`` (``"app_label.modelname"``), or None."""
    return _job_types.get(label)


@overload
def job_types(base: None = None) -> list[type[models.Model]]: ...
@overload
def job_types(base: type[_M]) -> list[type[_M]]: ...
def job_types(base: type[models.Model] | None = None) -> list[Any]:
    """Return every registered job type, or those that subclass ``base``."""
    return [model for model in _job_types.values() if base is None or issubclass(model, base)]


def _on_class_prepared(sender: type[models.Model], **kwargs: Any) -> None:
    if sender._meta.proxy and getattr(sender, "_is_job_model", False):
        register(sender)


class_prepared.connect(_on_class_prepared, dispatch_uid="data_exchange_tool.registry")
