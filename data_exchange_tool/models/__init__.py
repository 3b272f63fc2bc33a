"""The library's models: ``ImportJob`` and the tables of what its runs found."""

from __future__ import annotations

from data_exchange_tool.models.exports import ExportJob, ExportJobManager, ExportJobQuerySet
from data_exchange_tool.models.jobs import ImportJob, ImportJobManager, ImportJobQuerySet
from data_exchange_tool.models.parts import ImportJobPart, PartState
from data_exchange_tool.models.results import (
    ImportJobPreviewRow,
    ImportJobRowError,
    Phase,
    RunResult,
)

__all__ = [
    "ExportJob",
    "ExportJobManager",
    "ExportJobQuerySet",
    "ImportJob",
    "ImportJobManager",
    "ImportJobPart",
    "ImportJobPreviewRow",
    "ImportJobQuerySet",
    "ImportJobRowError",
    "PartState",
    "Phase",
    "RunResult",
]
