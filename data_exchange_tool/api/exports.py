"""
``ExportJobViewSet``: the HTTP face of one export job type.

Every registered export job type gets one (``ExportJobViewSet.for_job_type``), routed by
``register_export_viewsets`` under ``exports/<slug>/``:

===================================  ======  ==========================================
path                                 method  action
===================================  ======  ==========================================
``exports/<slug>/``                  GET     list (the user's own jobs, or all with view_all)
``exports/<slug>/start/``            POST    start: filters as query parameters (checked by
                                             the job type's FilterSet: 400 when invalid),
                                             body ``format``, ``bom``, ``delimiter``
``exports/<slug>/<id>/``             GET     retrieve: state, progress, rows, size, timings
``exports/<slug>/<id>/cancel/``      POST    cancel (409 when the export has finished)
``exports/<slug>/<id>/download/``    GET     the file: a redirect to a short-lived S3 URL
                                             where S3 is used, else the file itself
===================================  ======  ==========================================

Permissions are the job type's own (``add`` to start and cancel, ``view`` / ``view_all`` to
read), or ``ExportJob``'s to allow every export type at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from data_exchange_tool import actions, downloads
from data_exchange_tool.api.exceptions import DataExchangeAPIError
from data_exchange_tool.api.viewsets import JobViewSet
from data_exchange_tool.models import ExportJob
from data_exchange_tool.models.exports import EXPORT_FORMATS, filters_from_querydict
from data_exchange_tool.progress import percent
from data_exchange_tool.states import EXPORT_FINAL_STATES, ExportState

if TYPE_CHECKING:
    from rest_framework.request import Request


class ExportNotReady(DataExchangeAPIError):
    """The export has no file to download (yet) (409, with the state)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The export has no file to download.")
    default_code = "not_ready"


# --- serializers ---------------------------------------------------------------------------


class ExportJobStartSerializer(serializers.Serializer):
    """The body of a start request; the filters come as query parameters."""

    format = serializers.ChoiceField(
        choices=sorted(EXPORT_FORMATS),
        required=False,
        help_text=_("csv or xlsx; the job type's default when omitted."),
    )
    bom = serializers.BooleanField(
        default=False, help_text=_("Start a CSV file with a BOM, so Excel reads it as UTF-8.")
    )
    delimiter = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=9,
        help_text=_("The CSV delimiter: , (the default), ; (European Excel), tab or |."),
    )


class ExportJobSerializer(serializers.ModelSerializer):
    """One export: state, filters, progress, rows, file, timings and links."""

    state_label = serializers.CharField(source="get_state_display", read_only=True)
    is_final = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    duration = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = (
            "id",
            "job_type",
            "state",
            "state_label",
            "is_final",
            "format",
            "filters",
            "file_name",
            "file_size",
            "total_rows",
            "progress",
            "message",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration",
            "links",
        )
        read_only_fields = fields

    def get_is_final(self, job: ExportJob) -> bool:
        """Return True once nothing more will happen to the export."""
        return job.state in EXPORT_FINAL_STATES

    @extend_schema_field(OpenApiTypes.STR)
    def get_created_by(self, job: ExportJob) -> str | None:
        """Return the username of the requester."""
        return job.created_by.get_username() if job.created_by else None

    @extend_schema_field(
        inline_serializer(
            "ExportJobProgress",
            {
                "percent": serializers.IntegerField(min_value=0, max_value=100),
                "done": serializers.IntegerField(),
                "total": serializers.IntegerField(),
            },
        )
    )
    def get_progress(self, job: ExportJob) -> dict[str, int]:
        """Return the rows written so far and the rows to write."""
        return {
            "percent": percent(job),
            "done": job.progress_done,
            "total": job.progress_total,
        }

    @extend_schema_field(serializers.FloatField(allow_null=True, help_text=_("Seconds.")))
    def get_duration(self, job: ExportJob) -> float | None:
        """Return how long the export ran, in seconds."""
        duration = job.duration
        return None if duration is None else round(duration.total_seconds(), 3)

    @extend_schema_field(serializers.DictField(child=serializers.URLField()))
    def get_links(self, job: ExportJob) -> dict[str, str]:
        """Return the URLs of the job's endpoints (``download`` once the file is written)."""
        view = self.context.get("view")
        if view is None or not hasattr(view, "reverse_action"):
            return {}
        names = ["detail", "cancel"]
        if job.state == ExportState.EXPORT_SUCCEEDED:
            names.append("download")
        links = {name: view.reverse_action(name, kwargs={"pk": job.pk}) for name in names}
        links["self"] = links.pop("detail")
        return links


# --- the viewset ---------------------------------------------------------------------------


class ExportJobViewSet(JobViewSet):
    """Start, follow, cancel and download the exports of one job type."""

    #: The job type (a proxy of ``ExportJob``) this viewset serves.
    job_type: ClassVar[type[ExportJob] | None] = None
    declared: ClassVar[dict[str, type[JobViewSet]]] = {}
    serializer_class = ExportJobSerializer
    start_serializer_class = ExportJobStartSerializer
    queryset = ExportJob.objects.none()  # tells schema generators the model; see get_queryset()

    @classmethod
    def document(cls, viewset: type[JobViewSet], job_type: Any) -> type[JobViewSet]:
        """Describe the job type's operations, the start's filter parameters among them."""
        return document(viewset, job_type)

    @action(detail=False, methods=["post"])
    def start(self, request: Request) -> Response:
        """Start an export of the rows the query parameters select (the FilterSet's filters)."""
        body = self.start_serializer_class(data=request.data)
        body.is_valid(raise_exception=True)
        options: dict[str, Any] = {"bom": True} if body.validated_data["bom"] else {}
        if body.validated_data.get("delimiter"):
            options["delimiter"] = body.validated_data["delimiter"]
        job_type: Any = self.get_job_type()  # one of ExportJob's
        job = actions.start_export(
            job_type,
            filters=filters_from_querydict(request.query_params, ignore=("format",)),
            file_format=body.validated_data.get("format"),
            user=request.user,
            options=options,
        )
        return self.job_response(job, status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        """Cancel the export; a running one stops at its next chunk and keeps no file."""
        job = self.get_object()
        actions.cancel_export(job)
        return self.job_response(job)

    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: Any = None) -> Any:
        """Download the file: a redirect to a short-lived S3 URL, or the file itself."""
        job = self.get_object()
        if job.state != ExportState.EXPORT_SUCCEEDED or not job.file.name:
            raise ExportNotReady(
                gettext("Export #%(id)s has no file: it is %(state)s.")
                % {"id": job.pk, "state": str(job.get_state_display()).lower()},
                state=job.state,
            )
        try:
            return downloads.export_file_response(job)
        except Exception as exc:  # gone from the storage: S3, disk and memory raise differently
            raise NotFound(gettext("The file is no longer stored.")) from exc


# --- schema and routes ---------------------------------------------------------------------

#: OpenAPI types of django-filter's filters (by class name); anything else is a string.
FILTER_TYPES = {
    "NumberFilter": OpenApiTypes.NUMBER,
    "BooleanFilter": OpenApiTypes.BOOL,
    "DateFilter": OpenApiTypes.DATE,
    "DateTimeFilter": OpenApiTypes.DATETIME,
    "UUIDFilter": OpenApiTypes.UUID,
}


def filter_parameters(job_type: type[ExportJob]) -> list[OpenApiParameter]:
    """Return the query parameters of the job type's FilterSet, for the schema."""
    filterset_class = job_type.get_filterset_class()
    if filterset_class is None:
        return []
    return [
        OpenApiParameter(
            name,
            FILTER_TYPES.get(type(f).__name__, OpenApiTypes.STR),
            OpenApiParameter.QUERY,
            description=str(f.label or name),
        )
        for name, f in filterset_class.base_filters.items()
    ]


def document(viewset: type[JobViewSet], job_type: type[ExportJob]) -> type:
    """Return ``viewset`` with its OpenAPI description (the start's filter parameters)."""
    label = str(job_type._meta.verbose_name)
    tag = [str(job_type._meta.verbose_name_plural)]
    return extend_schema_view(
        list=extend_schema(summary=f"List {label} jobs", tags=tag),
        retrieve=extend_schema(summary=f"Read one {label} job", tags=tag),
        start=extend_schema(
            summary=f"Start a {label}",
            tags=tag,
            parameters=filter_parameters(job_type),
            request=ExportJobStartSerializer,
            responses={
                202: ExportJobSerializer,
                400: OpenApiResponse(description="Invalid filters or body."),
            },
        ),
        cancel=extend_schema(
            summary=f"Cancel a {label}",
            tags=tag,
            request=None,
            responses={200: ExportJobSerializer, 409: OpenApiResponse(description="Finished.")},
        ),
        download=extend_schema(
            summary=f"Download a {label}'s file",
            tags=tag,
            responses={
                (200, "application/octet-stream"): OpenApiTypes.BINARY,
                302: OpenApiResponse(description="A short-lived S3 URL of the file."),
                409: OpenApiResponse(description="The export has no file (yet)."),
            },
        ),
    )(viewset)
