"""The library's errors become API errors a client can act on (409, 400), never a 500."""

from __future__ import annotations

import django_fsm as fsm
import pytest

from data_exchange_tool.api.exceptions import (
    JobLocked,
    TransitionConflict,
    UnreadableFile,
    api_exception,
)
from data_exchange_tool.exceptions import FileFormatError, JobLockedError, TransitionRefusedError


def test_a_refused_transition_is_a_409_with_the_state_and_code():
    exc = api_exception(TransitionRefusedError("Not yet.", "CREATED", "too_early"))

    assert isinstance(exc, TransitionConflict)
    assert exc.status_code == 409
    assert exc.detail == {"detail": "Not yet.", "code": "too_early", "state": "CREATED"}


def test_a_held_lock_is_a_409_naming_the_blocking_job():
    exc = api_exception(JobLockedError("Job #4 is importing.", 4, "PREVIEW_SUCCEEDED"))

    assert isinstance(exc, JobLocked)
    assert exc.status_code == 409
    assert exc.detail == {
        "detail": "Job #4 is importing.",
        "code": "locked",
        "state": "PREVIEW_SUCCEEDED",
        "blocking_job": 4,
    }


@pytest.mark.parametrize(
    "error", [fsm.ConcurrentTransition("changed"), fsm.TransitionNotAllowed("no")]
)
def test_django_fsm_refusals_are_409s(error):
    exc = api_exception(error)

    assert isinstance(exc, TransitionConflict)
    assert exc.detail["code"] == "transition_not_allowed"


def test_an_unreadable_file_is_a_400():
    exc = api_exception(FileFormatError("Not a workbook."))

    assert isinstance(exc, UnreadableFile)
    assert exc.status_code == 400
    assert exc.detail == {"detail": "Not a workbook.", "code": "unreadable_file"}


def test_other_errors_pass_unchanged():
    error = RuntimeError("bug")

    assert api_exception(error) is error


def test_api_errors_have_default_details():
    exc = TransitionConflict()

    assert exc.detail["detail"] == "The job's state does not allow this action."
    assert exc.detail["code"] == "transition_not_allowed"
