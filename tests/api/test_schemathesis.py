"""
A bounded schemathesis run against the API's own OpenAPI schema: no request it generates, valid or
not, gets a server error (5xx), and every answer matches the documented status codes, content
types and bodies.

Every job type is served by the same viewset code, so two of them are run: the demo's stock
records (related fields, a composite natural key) and the tests' tags. Requests go through the WSGI
application in the test's thread (so they see the test's database transaction), authenticated as a
superuser with HTTP Basic. Jobs exist before the run, and each job endpoint is also run against a
real job id, so the examples reach real rows, not only 404s.

The list's date filters get a run of their own (``check_date_filters``): date-times with any offset
(PostgreSQL refuses offsets past 15:59), at both ends of the years Python accepts, dates, and any
text. The real layer runs the same check against PostgreSQL (``tests/integration/test_api.py``).
"""

from __future__ import annotations

import base64
import datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import create_job, csv_bytes, stock_rows

MAX_EXAMPLES = 10
#: Examples of the date filters' own run.
DATE_EXAMPLES = 60
SEED = 20250301
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def basic_auth(django_user_model) -> dict[str, str]:
    django_user_model.objects.create_superuser("root", password="pw")
    return {"Authorization": "Basic " + base64.b64encode(b"root:pw").decode()}


@pytest.fixture
def jobs(catalogue, run_on_commit, django_user_model):
    """A clean job, a job with invalid rows, and one never previewed, of the superuser."""
    root = django_user_model.objects.get(username="root")
    invalid = [*stock_rows(2), ["ACME", "P-1", "BAD", "=1+1", 1, 0]]
    with run_on_commit():
        clean = create_job(csv_bytes(stock_rows(3)), created_by=root)
        with_errors = create_job(csv_bytes(invalid), created_by=root)
    waiting = create_job(csv_bytes(stock_rows(2)), created_by=root)
    return [clean, with_errors, waiting]


def run_operation(operation, headers: dict[str, str], **fixed) -> None:
    @seed(SEED)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(**fixed))
    def check(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()


def test_no_generated_request_gets_a_server_error(wsgi_app, basic_auth, jobs):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith(("/api/imports/stock-record/", "/api/imports/tag/"))
    ]
    assert len(operations) == 20

    for operation in operations:
        run_operation(operation, basic_auth)
        if "{id}" in operation.path and "/stock-record/" in operation.path:
            for job in jobs:
                run_operation(operation, basic_auth, path_parameters={"id": job.pk})


#: Any fixed offset Python accepts: strictly within a day.
OFFSETS = st.integers(-1439, 1439).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)
#: Values of ``created_after`` / ``created_before``: date-times with any offset, over the whole
#: range of years, dates, the cases that once failed, and any text.
DATE_VALUES = st.one_of(
    st.sampled_from(
        [
            "2026-01-01T00:00:00+16:00",
            "2026-01-01T00:00:00-23:59",
            "9999-12-31T23:59:59-10:00",
            "0001-01-01T00:00:00+10:00",
            "9999-12-31T23:59:59.999999",
            "0001-01-01",
            "2026-01-01T00:00:00+99:00",
            "2026-02-30",
            "\x00",
        ]
    ),
    st.datetimes(timezones=OFFSETS).map(datetime.datetime.isoformat),
    st.dates().map(datetime.date.isoformat),
    st.text(max_size=40),
)


def check_date_filters(operation, headers: dict[str, str]) -> None:
    """Run the list ``operation`` with generated date filters: no answer may be a 5xx."""

    @seed(SEED)
    @settings(
        max_examples=DATE_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), after=DATE_VALUES, before=DATE_VALUES)
    def check(case, after, before):
        case.query = {**(case.query or {}), "created_after": after, "created_before": before}
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()


def test_date_filters_with_any_offset_or_text_never_get_a_server_error(wsgi_app, basic_auth, jobs):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    check_date_filters(schema["/api/imports/stock-record/"]["GET"], basic_auth)
