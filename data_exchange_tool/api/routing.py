"""
How job types become API routes: a slug per job type, and one registration per kind of job.

Every registered proxy of ``ImportJob`` is served under ``imports/<slug>/`` and every proxy of
``ExportJob`` under ``exports/<slug>/``, so a new job type needs no new view. The slug is the job
type's ``api_slug``, else its class name in kebab case without the kind (``StockRecordImportJob``
gives ``stock-record``).
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Model
from rest_framework.routers import BaseRouter

from data_exchange_tool.exceptions import ConfigurationError
from data_exchange_tool.registry import job_types


def job_type_slug(job_type: type, kind: str = "Import") -> str:
    """Return the URL name of a job type: ``api_slug``, else its class name in kebab case.

    :param kind: ``"Import"`` or ``"Export"``, dropped from the end of the class name.
    """
    declared = getattr(job_type, "api_slug", None)
    if declared:
        return str(declared)
    name = re.sub(rf"{kind}Job$|{kind}$|Job$", "", job_type.__name__) or job_type.__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def register_job_viewsets(router: BaseRouter, base: type[Model], viewset: Any, kind: str) -> None:
    """Route ``<kind>s/<slug>/`` for every job type of ``base``, or raise on a slug clash.

    :param viewset: a viewset class with ``for_job_type(job_type)``.
    """
    prefix = kind.lower()
    seen: dict[str, type] = {}
    for job_type in sorted(job_types(base), key=lambda model: model._meta.label_lower):
        slug = job_type_slug(job_type, kind)
        if slug in seen:
            raise ConfigurationError(
                f"{seen[slug].__name__} and {job_type.__name__} both take the API path "
                f"{prefix}s/{slug}/: set `api_slug = '...'` on one of them."
            )
        seen[slug] = job_type
        router.register(
            f"{prefix}s/{slug}", viewset.for_job_type(job_type), basename=f"{prefix}-{slug}"
        )
