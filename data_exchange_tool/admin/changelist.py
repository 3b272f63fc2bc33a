"""
Rebuild an admin changelist's rows inside the export task.

The admin's export action stores the changelist's query parameters (list filters, search,
ordering) on the job, never a queryset. The task finds the same ``ModelAdmin`` on the same admin
site and asks its ``ChangeList`` for the queryset, as the person who started the export, so the
file holds exactly the rows the changelist showed (all pages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.sites import all_sites
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.test import RequestFactory

from data_exchange_tool.exceptions import ConfigurationError, ExportFilterError

if TYPE_CHECKING:
    from django.contrib.admin import AdminSite, ModelAdmin

    from data_exchange_tool.models import ExportJob

#: Changelist parameters that select a page, not rows.
PAGE_PARAMS = ("p", "all", "_changelist_filters", "_to_field", "_popup")


def changelist_params(query: Any) -> dict[str, list[str]]:
    """Return a changelist's query parameters worth storing (``{name: [values]}``)."""
    return {name: query.getlist(name) for name in query if name not in PAGE_PARAMS}


def find_site(name: str) -> AdminSite:
    """Return the admin site called ``name``."""
    for site in all_sites:
        if site.name == name:
            return site
    raise ConfigurationError(f"No admin site is named {name!r}.")


def find_model_admin(model: type[models.Model], site_name: str) -> ModelAdmin:
    """Return the ``ModelAdmin`` of ``model`` on the site called ``site_name``."""
    model_admin = find_site(site_name)._registry.get(model)
    if model_admin is None:
        raise ConfigurationError(f"{model._meta.label} is not registered on admin {site_name!r}.")
    return model_admin


def changelist_queryset(job: ExportJob, changelist: dict[str, Any]) -> models.QuerySet:
    """Return the rows the stored changelist showed, for the user who started the export."""
    model_admin = find_model_admin(job.get_target_model(), changelist.get("site", "admin"))
    request = RequestFactory().get("/", data=changelist.get("params") or {})
    request.user = job.created_by or AnonymousUser()
    try:
        change_list = model_admin.get_changelist_instance(request)
        return change_list.get_queryset(request)
    except (IncorrectLookupParameters, ImproperlyConfigured) as exc:
        raise ExportFilterError(f"The changelist's filters are not valid: {exc}") from exc
