"""
The API's URLs: one router for every registered job type.

Route the whole API with one line in the project's URLconf::

    path("api/", include("data_exchange_tool.api.urls"))

which serves ``imports/<slug>/`` for every proxy of ``ImportJob`` (see ``api.imports``), so a
new job type needs no new view. To route a different set, or more viewsets on the same router::

    router = build_router()
    router.register("my-things", MyViewSet, basename="my-things")
    urlpatterns = [path("api/", include(router.urls))]

Other kinds of jobs add one ``register_*_viewsets(router)`` line to ``build_router``.
"""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from data_exchange_tool.api.exports import register_export_viewsets
from data_exchange_tool.api.imports import ImportJobViewSet, job_type_slug
from data_exchange_tool.exceptions import ConfigurationError
from data_exchange_tool.models import ImportJob
from data_exchange_tool.registry import job_types


class DataExchangeRouter(DefaultRouter):
    """The router of the API: an index at the root, no ``.json`` suffixes."""

    include_format_suffixes = False


def import_basename(job_type: type[ImportJob]) -> str:
    """Return the URL name prefix of a job type's routes (``import-<slug>``)."""
    return f"import-{job_type_slug(job_type)}"


def register_import_viewsets(router: DefaultRouter) -> None:
    """Route ``imports/<slug>/`` for every registered ImportJob type, or raise on a clash."""
    seen: dict[str, type[ImportJob]] = {}
    for job_type in sorted(job_types(ImportJob), key=lambda model: model._meta.label_lower):
        slug = job_type_slug(job_type)
        if slug in seen:
            raise ConfigurationError(
                f"{seen[slug].__name__} and {job_type.__name__} both take the API path "
                f"imports/{slug}/: set `api_slug = '...'` on one of them."
            )
        seen[slug] = job_type
        viewset = ImportJobViewSet.for_job_type(job_type)
        router.register(f"imports/{slug}", viewset, basename=import_basename(job_type))


def build_router() -> DefaultRouter:
    """Return a new router holding every job type's viewsets."""
    router = DataExchangeRouter()
    register_import_viewsets(router)
    register_export_viewsets(router)
    return router


router = build_router()
urlpatterns = router.urls
