"""
``JobViewSet``: what the API of every job type shares, imports and exports alike.

A viewset serves one job type (``job_type``). ``for_job_type`` returns the subclass a project
declared for that type (a subclass naming ``job_type``), or builds one, so a new job type needs no
new view. The base reads the jobs the user may see (``permissions.visible_jobs``), checks
permissions through ``api.permissions.JobPermission``, pages lists (``JobPagination``) and turns the
library's refusals into the API's errors (``api.exceptions``), never a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rest_framework import mixins, status, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from data_exchange_tool.api.exceptions import api_exception
from data_exchange_tool.api.permissions import JobPermission
from data_exchange_tool.exceptions import ConfigurationError
from data_exchange_tool.permissions import visible_jobs

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from data_exchange_tool.models.base import BaseJob


class JobPagination(PageNumberPagination):
    """Pages of 50 (``?page=2&page_size=100``, at most 500)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The API of one job type: list and read its jobs; subclasses add the actions."""

    #: The job type (a proxy of ``ImportJob`` or ``ExportJob``) this viewset serves.
    job_type: ClassVar[type[BaseJob] | None] = None
    #: Viewsets declared for one job type, by job type label; each family has its own.
    declared: ClassVar[dict[str, type[JobViewSet]]] = {}
    #: Related objects read with each job.
    related: ClassVar[tuple[str, ...]] = ("created_by",)
    permission_classes = (JobPermission,)
    pagination_class = JobPagination
    lookup_value_regex = "[0-9]+"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.job_type is not None and not cls.__dict__.get("_generated", False):
            cls.declared[cls.job_type._meta.label_lower] = cls

    @classmethod
    def for_job_type(cls, job_type: type[BaseJob]) -> type[JobViewSet]:
        """Return the viewset of ``job_type``: the declared subclass, else a generated one."""
        viewset = cls.declared.get(job_type._meta.label_lower)
        if viewset is None:
            attrs = {"job_type": job_type, "_generated": True, "__module__": cls.__module__}
            viewset = type(f"{job_type.__name__}ViewSet", (cls,), attrs)
        return cls.document(viewset, job_type)

    @classmethod
    def document(cls, viewset: type[JobViewSet], job_type: type[BaseJob]) -> type[JobViewSet]:
        """Return ``viewset`` with its OpenAPI description. Override to add one."""
        return viewset

    def get_job_type(self) -> type[BaseJob]:
        """Return the job type served, or raise naming how to set it."""
        if self.job_type is None:
            raise ConfigurationError(
                f"{type(self).__name__} needs a job_type: set the attribute, or build the "
                f"viewset with {type(self).__name__}.for_job_type(job_type)."
            )
        return self.job_type

    def get_queryset(self) -> QuerySet:
        """Return the jobs of the type the user may see: their own, or all with view_all."""
        job_type = self.get_job_type()
        queryset = job_type.objects.select_related(*self.related)  # type: ignore[attr-defined]
        user = self.request.user
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:
            return queryset.none()
        return visible_jobs(queryset, user, job_type)

    def handle_exception(self, exc: Exception) -> Response:
        """Answer the library's refusals with the API's errors (400, 409), never a 500."""
        return super().handle_exception(api_exception(exc))

    def job_response(self, job: BaseJob, status_code: int = status.HTTP_200_OK) -> Response:
        """Return the job, read again from the database."""
        job.refresh_from_db()
        return Response(self.get_serializer(job).data, status=status_code)
