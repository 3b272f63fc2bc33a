"""
The API's errors: each a DRF ``APIException`` with ``status_code``, ``default_detail`` and
``default_code``, and a body a client can act on.

Every error body has ``detail`` (words for a person) and ``code`` (a stable word for a program);
a refused transition adds the job's ``state``, a held lock adds the ``blocking_job``.
``api_exception()`` turns the library's own errors into these, so a view never answers 500 for a
request it merely refuses.
"""

from __future__ import annotations

from typing import Any

import django_fsm as fsm
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException

from data_exchange_tool.exceptions import (
    ExportFilterError,
    FileFormatError,
    JobLockedError,
    TransitionRefusedError,
)


class DataExchangeAPIError(APIException):
    """Base of the API's errors; the body is ``{"detail", "code", **extra}``."""

    def __init__(self, detail: Any = None, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, code)
        message: Any = self.detail  # an ErrorDetail: APIException makes one of a text
        self.detail = {"detail": message, "code": message.code, **extra}


class TransitionConflict(DataExchangeAPIError):
    """The job's state does not allow the action (409, with the state and the reason)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The job's state does not allow this action.")
    default_code = "transition_not_allowed"


class JobLocked(DataExchangeAPIError):
    """Another job is importing into the same target (409, naming that job)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("Another import into the same target is running.")
    default_code = "locked"


class InvalidFilters(DataExchangeAPIError):
    """The filters of an export are not valid for its FilterSet (400, with ``errors``)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The export's filters are not valid.")
    default_code = "invalid_filters"


class UnreadableFile(DataExchangeAPIError):
    """The uploaded file cannot be read (400)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The file cannot be read.")
    default_code = "unreadable_file"


def api_exception(exc: Exception) -> Exception:
    """Return the API error for one of the library's errors, or ``exc`` unchanged."""
    if isinstance(exc, ExportFilterError):
        return InvalidFilters(exc.message, errors=exc.errors)
    if isinstance(exc, JobLockedError):
        return JobLocked(exc.message, state=exc.state, blocking_job=exc.holder_pk)
    if isinstance(exc, TransitionRefusedError):
        return TransitionConflict(exc.message, exc.code, state=exc.state)
    if isinstance(exc, fsm.ConcurrentTransition):
        return TransitionConflict(_("The job changed meanwhile; read it again."), state="")
    if isinstance(exc, fsm.TransitionNotAllowed):
        return TransitionConflict(
            str(exc), state=getattr(getattr(exc, "object", None), "state", "")
        )
    if isinstance(exc, FileFormatError):
        return UnreadableFile(str(exc))
    return exc
