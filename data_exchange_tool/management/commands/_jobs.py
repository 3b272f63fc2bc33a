"""Helpers of the management commands: find a job type and a user by name."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db.models import Model

from data_exchange_tool.registry import job_types


def find_job_type(name: str, base: type[Model]) -> Any:
    """Return the job type of ``base`` named by its label (``app.model``) or class name."""
    wanted = name.lower()
    for job_type in job_types(base):
        if wanted in (job_type._meta.label_lower, job_type.__name__.lower()):
            return job_type
    known = ", ".join(sorted(t._meta.label_lower for t in job_types(base))) or "none"
    raise CommandError(f"No {base.__name__} type is called {name!r}. Job types: {known}.")


def find_user(username: str | None) -> Any:
    """Return the user called ``username``, or None when no name is given."""
    if not username:
        return None
    model = get_user_model()
    try:
        return model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        raise CommandError(f"No user is called {username!r}.") from None
