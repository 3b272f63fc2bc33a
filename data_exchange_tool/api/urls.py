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

from data_exchange_tool.api.exports import ExportJobViewSet
from data_exchange_tool.api.imports import ImportJobViewSet
from data_exchange_tool.api.routing import register_job_viewsets
from data_exchange_tool.models import ExportJob, ImportJob


class DataExchangeRouter(DefaultRouter):
    """The router of the API: an index at the root, no ``.json`` suffixes."""

    include_format_suffixes = False


def register_import_viewsets(router: DefaultRouter) -> None:
    """Route ``imports/<slug>/`` for every registered ImportJob type."""
    register_job_viewsets(router, ImportJob, ImportJobViewSet, "Import")


def register_export_viewsets(router: DefaultRouter) -> None:
    """Route ``exports/<slug>/`` for every registered ExportJob type."""
    register_job_viewsets(router, ExportJob, ExportJobViewSet, "Export")


def build_router() -> DefaultRouter:
    """Return a new router holding every job type's viewsets."""
    router = DataExchangeRouter()
    register_import_viewsets(router)
    register_export_viewsets(router)
    return router


router = build_router()
urlpatterns = router.urls
