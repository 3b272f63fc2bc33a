"""
``ImportJobViewSet``: the HTTP face of one job type.

Every registered job type gets one (``ImportJobViewSet.for_job_type``), routed by ``api.urls``
under ``imports/<slug>/``:

================================  ======  =============================================
path                              method  action
================================  ======  =============================================
``imports/<slug>/``               GET     list (filters: state, created_by, created_after,
                                          created_before, ordering; paged)
``imports/<slug>/start/``         POST    start: multipart ``file``, ``force_import``,
                                          ``skip_preview_confirmation``, ``encoding``,
                                          ``delimiter``
``imports/<slug>/<id>/``          GET     retrieve: state, progress, counts, timings, links
``imports/<slug>/<id>/preview/``  GET     the preview's sample rows (paged)
``imports/<slug>/<id>/errors/``   GET     the invalid rows (paged)
``imports/<slug>/<id>/error-report/``  GET  the invalid rows as CSV, to fix and upload again
``imports/<slug>/<id>/file/``     GET     the uploaded file
``imports/<slug>/<id>/confirm/``  POST    start the import (409 when refused or locked)
``imports/<slug>/<id>/cancel/``   POST    cancel (409 when the job has finished)
================================  ======  =============================================

To change one job type's API, subclass and name the job type; ``api.urls`` then routes the
subclass instead of the generated viewset::

    class StockRecordImportViewSet(ImportJobViewSet):
        job_type = StockRecordImportJob
        pagination_class = MyPagination
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from data_exchange_tool import actions, downloads
from data_exchange_tool.api import docs
from data_exchange_tool.api.filters import (
    ImportJobFilterSet,
    PreviewRowFilterSet,
    RowErrorFilterSet,
)
from data_exchange_tool.api.renderers import CSVRenderer, FileRenderer
from data_exchange_tool.api.serializers import (
    ImportJobRerunSerializer,
    ImportJobSerializer,
    ImportJobStartSerializer,
    PreviewRowSerializer,
    RowErrorSerializer,
)
from data_exchange_tool.api.viewsets import JobViewSet
from data_exchange_tool.imports.reports import report_phase
from data_exchange_tool.locking import lock_holders
from data_exchange_tool.models import ImportJob, Phase


def tag_operations(viewset: type[JobViewSet]) -> type[JobViewSet]:
    """Group a job type's operations under its own OpenAPI tag: its plural verbose name."""
    job_type: Any = viewset.job_type  # set: for_job_type() documents the viewset it built
    tag = extend_schema(tags=[str(job_type._meta.verbose_name_plural)])
    return extend_schema_view(**dict.fromkeys(docs.ACTIONS, tag))(viewset)


@extend_schema_view(
    list=docs.LIST,
    retrieve=docs.RETRIEVE,
    start=docs.START,
    preview=docs.PREVIEW,
    errors=docs.ERRORS,
    error_report=docs.ERROR_REPORT,
    file=docs.FILE,
    confirm=docs.CONFIRM,
    cancel=docs.CANCEL,
    rerun=docs.RERUN,
)
class ImportJobViewSet(JobViewSet):
    """Start, follow, confirm and cancel the import jobs of one job type."""

    #: The job type (a proxy of ``ImportJob``) this viewset serves.
    job_type: ClassVar[type[ImportJob] | None] = None
    declared: ClassVar[dict[str, type[JobViewSet]]] = {}
    related = ("created_by", "confirmed_by")
    serializer_class = ImportJobSerializer
    start_serializer_class = ImportJobStartSerializer
    filter_backends = (DjangoFilterBackend,)
    filterset_class = ImportJobFilterSet
    queryset = ImportJob.objects.none()  # tells schema generators the model; see get_queryset()

    @classmethod
    def document(cls, viewset: type[JobViewSet], job_type: Any) -> type[JobViewSet]:
        """Group a job type's operations under its own OpenAPI tag."""
        return tag_operations(viewset)

    def get_serializer_context(self) -> dict[str, Any]:
        """Add the job type, and for lists the targets' lock holders, to the context."""
        context = {**super().get_serializer_context(), "job_type": self.job_type}
        if self.action == "list":
            context["lock_holders"] = lock_holders()
        return context

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Render errors of the download actions as JSON, whatever the client accepted."""
        renderer = getattr(request, "accepted_renderer", None)
        if (
            isinstance(response, Response)
            and response.exception
            and isinstance(renderer, CSVRenderer)
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def page_of(self, queryset: QuerySet, filterset_class: Any, serializer_class: Any) -> Response:
        """Filter ``queryset`` by the query string and answer one page of it."""
        filterset = filterset_class(self.request.query_params, queryset=queryset)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        serializer = serializer_class(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)

    # --- actions -------------------------------------------------------------------------

    @action(detail=False, methods=["post"], parser_classes=(MultiPartParser, FormParser))
    def start(self, request: Request) -> Response:
        """Upload a file: the job is created and its preview starts."""
        serializer = self.start_serializer_class(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        job = serializer.save()
        return self.job_response(job, status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"], filter_backends=())
    def preview(self, request: Request, pk: Any = None) -> Response:
        """Page through the preview's sample: planned action, cells and changes of rows."""
        job = self.get_object()
        return self.page_of(job.preview_rows.all(), PreviewRowFilterSet, PreviewRowSerializer)

    @action(detail=True, methods=["get"], filter_backends=())
    def errors(self, request: Request, pk: Any = None) -> Response:
        """Page through the invalid rows: row number, column, message and the row's cells."""
        job = self.get_object()
        return self.page_of(job.row_errors.all(), RowErrorFilterSet, RowErrorSerializer)

    @action(
        detail=True,
        methods=["get"],
        url_path="error-report",
        filter_backends=(),
        pagination_class=None,
        renderer_classes=(JSONRenderer, CSVRenderer),
    )
    def error_report(self, request: Request, pk: Any = None) -> StreamingHttpResponse:
        """Download the invalid rows as CSV, in the file's columns plus an ``errors`` column."""
        job = self.get_object()
        phase = request.query_params.get("phase") or report_phase(job)
        if phase not in Phase.values:
            raise ValidationError(
                {"phase": [_("Choose one of: %(phases)s.") % {"phases": ", ".join(Phase.values)}]}
            )
        return downloads.error_report_response(job, "csv", phase)

    @action(
        detail=True,
        methods=["get"],
        filter_backends=(),
        pagination_class=None,
        renderer_classes=(JSONRenderer, FileRenderer),
    )
    def file(self, request: Request, pk: Any = None) -> FileResponse:
        """Download the uploaded file as it was stored."""
        job = self.get_object()
        try:
            return downloads.uploaded_file_response(job)
        except Exception as exc:  # gone from the storage: S3, disk and memory raise differently
            raise NotFound(_("The file is no longer stored.")) from exc

    @action(detail=True, methods=["post"], filter_backends=(), pagination_class=None)
    def confirm(self, request: Request, pk: Any = None) -> Response:
        """Start the import of a previewed job (409 with the reason when refused)."""
        job = self.get_object()
        actions.confirm_import(job, request.user)
        return self.job_response(job, status.HTTP_202_ACCEPTED)

    @action(
        detail=True,
        methods=["post"],
        filter_backends=(),
        pagination_class=None,
        parser_classes=(MultiPartParser, FormParser),
    )
    def rerun(self, request: Request, pk: Any = None) -> Response:
        """Run a finished preview again, with a corrected file when given (409 otherwise)."""
        job = self.get_object()
        serializer = ImportJobRerunSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actions.rerun_preview(
            job,
            data.get("file"),
            force_import=data.get("force_import"),
            encoding=data.get("encoding"),
            delimiter=data.get("delimiter"),
        )
        return self.job_response(job, status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"], filter_backends=(), pagination_class=None)
    def cancel(self, request: Request, pk: Any = None) -> Response:
        """Cancel the job; a running import stops at its next batch and writes nothing."""
        job = self.get_object()
        actions.cancel_import(job)
        return self.job_response(job)
