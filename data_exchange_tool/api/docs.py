"""
The OpenAPI description of the import API (drf-spectacular): request and response schemas and
an example of each, kept apart from the views so the views stay short.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from data_exchange_tool.api.serializers import (
    ErrorSerializer,
    ImportJobRerunSerializer,
    ImportJobSerializer,
    ImportJobStartSerializer,
    LockedErrorSerializer,
    PreviewRowSerializer,
    RowErrorSerializer,
    TransitionErrorSerializer,
)
from data_exchange_tool.models import Phase
from data_exchange_tool.states import JobState, RowAction

#: The viewset methods described here.
ACTIONS = (
    "list",
    "retrieve",
    "start",
    "preview",
    "errors",
    "error_report",
    "file",
    "confirm",
    "cancel",
    "rerun",
)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BASE = "https://example.com/api/imports/stock-record/42/"


#: The path parameter of a job's endpoints.
JOB_ID = OpenApiParameter(
    "id",
    {"type": "integer", "minimum": 1},
    OpenApiParameter.PATH,
    description="The job's id.",
)


def job_example(state: str = JobState.PREVIEW_SUCCEEDED, **changes: Any) -> dict[str, Any]:
    """Return an example job body in ``state``."""
    body: dict[str, Any] = {
        "id": 42,
        "job_type": "demo.stockrecordimportjob",
        "state": state,
        "state_label": JobState(state).label,
        "is_final": state in (JobState.IMPORT_SUCCEEDED, JobState.CANCELLED),
        "file_name": "stock.csv",
        "file_size": 2048,
        "file_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "file_encoding": "utf-8",
        "file_headers": ["partner", "product", "partner_sku", "price", "num_in_stock"],
        "force_import": False,
        "skip_preview_confirmation": False,
        "message": "",
        "confirm_refusal": None,
        "progress": {"percent": 100, "done": 3, "total": 3},
        "counts": {"total": 3, "new": 2, "updated": 1, "unchanged": 0, "invalid": 0},
        "timings": {
            "created_at": "2025-03-01T09:00:00Z",
            "preview_started_at": "2025-03-01T09:00:01Z",
            "preview_finished_at": "2025-03-01T09:00:02Z",
            "import_started_at": None,
            "import_finished_at": None,
            "cancelled_at": None,
            "updated_at": "2025-03-01T09:00:02Z",
        },
        "created_by": "alice",
        "confirmed_by": None,
        "links": {
            "self": BASE,
            "preview": f"{BASE}preview/",
            "errors": f"{BASE}errors/",
            "error_report": f"{BASE}error-report/",
            "file": f"{BASE}file/",
            "confirm": f"{BASE}confirm/",
            "cancel": f"{BASE}cancel/",
        },
    }
    body.update(changes)
    return body


def page_example(results: list[Any]) -> dict[str, Any]:
    """Return an example page of ``results``."""
    return {"count": len(results), "next": None, "previous": None, "results": results}


def example(name: str, value: Any, **kwargs: Any) -> OpenApiExample:
    """Return a response example named ``name``."""
    return OpenApiExample(name, value=value, response_only=True, **kwargs)


ERROR_401 = OpenApiResponse(
    ErrorSerializer,
    description="Not authenticated.",
    examples=[example("Anonymous", {"detail": "Authentication credentials were not provided."})],
)
ERROR_403 = OpenApiResponse(
    ErrorSerializer,
    description="The user lacks the job type's permission for this action.",
    examples=[
        example(
            "Missing permission",
            {"detail": "You need the permission demo.confirm_stockrecordimportjob."},
        )
    ],
)
ERROR_404 = OpenApiResponse(
    ErrorSerializer,
    description="No such job, or a job of another user.",
    examples=[example("Not found", {"detail": "No StockRecordImportJob matches the given query."})],
)
ERROR_400 = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Invalid parameters: ``{field: [messages]}``.",
    examples=[example("Bad filter", {"phase": ["Choose one of: preview, import."]})],
)
READ_ERRORS = {401: ERROR_401, 403: ERROR_403, 404: ERROR_404}
CONFLICT = OpenApiResponse(
    TransitionErrorSerializer,
    description="The job's state does not allow the action; ``detail`` says why.",
    examples=[
        example(
            "Invalid rows",
            {
                "detail": "The preview found 2 invalid rows: fix the file and run the preview "
                "again, or import the valid rows and skip them.",
                "code": "transition_not_allowed",
                "state": JobState.PREVIEW_SUCCEEDED,
            },
        )
    ],
)

LIST = extend_schema(
    summary="List jobs",
    description="The user's own jobs of this type (every user's with the view_all permission), "
    "newest first, paged.",
    responses={
        200: OpenApiResponse(
            ImportJobSerializer(many=True),
            examples=[example("A page of jobs", page_example([job_example()]))],
        ),
        400: ERROR_400,
        401: ERROR_401,
        403: ERROR_403,
        404: ERROR_404,
    },
)
RETRIEVE = extend_schema(
    parameters=[JOB_ID],
    summary="Read a job",
    description="State, progress, counts, timings, message, and links to the job's endpoints. "
    "Poll it until ``is_final`` is true or the state is PREVIEW_SUCCEEDED / PREVIEW_FAILED.",
    responses={
        200: OpenApiResponse(
            ImportJobSerializer,
            examples=[
                example("Previewed", job_example()),
                example(
                    "Importing",
                    job_example(
                        JobState.IMPORT_IN_PROGRESS,
                        progress={"percent": 40, "done": 4000, "total": 10000},
                        confirm_refusal="This file is being imported now.",
                    ),
                ),
            ],
        ),
        **READ_ERRORS,
    },
)
START = extend_schema(
    summary="Upload a file and start a job",
    description="Creates the job and starts its preview. With ``skip_preview_confirmation`` the "
    "import starts by itself after a preview without invalid rows (or with ``force_import``). "
    "A file of an unknown type, too large or empty is refused at once (400); any other unreadable "
    "file fails the preview with a message.",
    request={"multipart/form-data": ImportJobStartSerializer},
    responses={
        201: OpenApiResponse(
            ImportJobSerializer,
            examples=[
                example(
                    "Created",
                    job_example(
                        JobState.CREATED,
                        progress={"percent": 0, "done": 0, "total": 0},
                        counts=dict.fromkeys(
                            ("total", "new", "updated", "unchanged", "invalid"), 0
                        ),
                        confirm_refusal="The preview has not finished yet.",
                    ),
                )
            ],
        ),
        400: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="The file cannot be accepted: ``{field: [messages]}``.",
            examples=[
                example(
                    "Unknown type",
                    {"file": ["Files of type '.pdf' are not supported: use .csv, .xlsx."]},
                )
            ],
        ),
        401: ERROR_401,
        403: ERROR_403,
    },
    examples=[
        OpenApiExample(
            "Upload",
            value={"file": "stock.csv", "force_import": False, "skip_preview_confirmation": True},
            request_only=True,
        )
    ],
)
PREVIEW = extend_schema(
    summary="The preview's rows",
    description="The rows the preview kept, paged: every invalid and updated row up to "
    "DATA_EXCHANGE_PREVIEW_KEEP_ROWS of each, and up to DATA_EXCHANGE_PREVIEW_SAMPLE_SIZE new and "
    "unchanged rows. ``?action=invalid`` lists the invalid rows with their problems.",
    parameters=[
        JOB_ID,
        OpenApiParameter("action", str, enum=RowAction.values, description="Only this action."),
    ],
    responses={
        200: OpenApiResponse(
            PreviewRowSerializer(many=True),
            examples=[
                example(
                    "An update",
                    page_example(
                        [
                            {
                                "row_number": 2,
                                "action": RowAction.UPDATE,
                                "values": {"partner": "ACME", "partner_sku": "A-1", "price": "9"},
                                "changes": {"price": ["7.50", "9.00"]},
                                "errors": [],
                            }
                        ]
                    ),
                )
            ],
        ),
        400: ERROR_400,
        **READ_ERRORS,
    },
)
ERRORS = extend_schema(
    summary="The invalid rows",
    description="Every problem found, one per row and column, in file order, paged.",
    parameters=[
        JOB_ID,
        OpenApiParameter("phase", str, enum=Phase.values, description="Only this phase."),
        OpenApiParameter("column", str, description="Only this column."),
    ],
    responses={
        200: OpenApiResponse(
            RowErrorSerializer(many=True),
            examples=[
                example(
                    "A bad price",
                    page_example(
                        [
                            {
                                "row_number": 3,
                                "column": "price",
                                "message": "A valid number is required.",
                                "phase": Phase.PREVIEW,
                                "values": {"partner": "ACME", "partner_sku": "A-2", "price": "x"},
                            }
                        ]
                    ),
                )
            ],
        ),
        400: ERROR_400,
        **READ_ERRORS,
    },
)
ERROR_REPORT = extend_schema(
    summary="Download the invalid rows as CSV",
    description="The file's own columns plus an ``errors`` column, one line per invalid row: fix "
    "it and upload it again. Defaults to the import's errors when the import recorded any, "
    "else the preview's.",
    parameters=[
        JOB_ID,
        OpenApiParameter("phase", str, enum=Phase.values, description="Whose errors to export."),
    ],
    responses={
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.BINARY,
            description="partner,partner_sku,price,errors\r\nACME,A-2,x,"
            "price: A valid number is required.\r\n",
        ),
        400: ERROR_400,
        **READ_ERRORS,
    },
)
FILE = extend_schema(
    parameters=[JOB_ID],
    summary="Download the uploaded file",
    responses={
        (200, "*/*"): OpenApiResponse(
            OpenApiTypes.BINARY,
            description="The file as uploaded, typed by its extension (text/csv, "
            f"{XLSX_TYPE}, ...).",
        ),
        **READ_ERRORS,
    },
)
CONFIRM = extend_schema(
    parameters=[JOB_ID],
    summary="Confirm the import",
    description="Starts the import of a previewed job. Refused with 409 while the preview runs, "
    "when it found invalid rows (unless forced), or when another job imports into the same "
    "target (``blocking_job`` names it).",
    request=None,
    responses={
        202: OpenApiResponse(
            ImportJobSerializer,
            examples=[
                example(
                    "Importing",
                    job_example(JobState.IMPORT_IN_PROGRESS, confirmed_by="alice"),
                )
            ],
        ),
        409: OpenApiResponse(
            LockedErrorSerializer,
            description="Refused: the state does not allow it (``code`` "
            "transition_not_allowed) or the target is locked (``code`` locked).",
            examples=[
                example(
                    "Locked",
                    {
                        "detail": "Job #41 (stock record import), started by bob, is importing "
                        "into stock record now; confirm again when it has finished.",
                        "code": "locked",
                        "state": JobState.PREVIEW_SUCCEEDED,
                        "blocking_job": 41,
                    },
                ),
                CONFLICT.examples[0],
            ],
        ),
        **READ_ERRORS,
    },
)
CANCEL = extend_schema(
    parameters=[JOB_ID],
    summary="Cancel the job",
    description="A job not importing yet is cancelled at once; a running import is asked to "
    "stop, rolls back at its next batch and then shows CANCELLED.",
    request=None,
    responses={
        200: OpenApiResponse(
            ImportJobSerializer,
            examples=[example("Cancelled", job_example(JobState.CANCELLED))],
        ),
        409: OpenApiResponse(
            TransitionErrorSerializer,
            examples=[
                example(
                    "Finished",
                    {
                        "detail": "This job has finished, so it cannot be cancelled.",
                        "code": "transition_not_allowed",
                        "state": JobState.IMPORT_SUCCEEDED,
                    },
                )
            ],
        ),
        **READ_ERRORS,
    },
)


RERUN = extend_schema(
    parameters=[JOB_ID],
    summary="Run the preview again",
    description="Runs a finished preview (succeeded or failed) again, or the preview of a failed "
    "import (nothing of it was written), with a corrected file when one is sent, else on the "
    "same file against the data as it is now; confirm it again afterwards. Refused with 409 "
    "while the preview or the import runs, and once the import has succeeded.",
    request={"multipart/form-data": ImportJobRerunSerializer},
    responses={
        202: OpenApiResponse(
            ImportJobSerializer,
            examples=[example("Previewing again", job_example(JobState.CREATED))],
        ),
        400: OpenApiResponse(description="The new file cannot be read (type, size, signature)."),
        **READ_ERRORS,
        409: OpenApiResponse(
            TransitionErrorSerializer,
            examples=[
                example(
                    "Importing",
                    {
                        "detail": (
                            "The preview can run again only once it has finished, or after a "
                            "failed import."
                        ),
                        "code": "transition_not_allowed",
                        "state": JobState.IMPORT_IN_PROGRESS,
                    },
                )
            ],
        ),
    },
)
