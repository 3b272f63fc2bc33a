"""The library's answer per row is DRF's, on PostgreSQL too: the batch queries compare there
with PostgreSQL's own ``=`` and ``UPPER()`` (``iexact``), and look pks and slugs up in arrays."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.imports.test_fidelity import (  # noqa: F401 - collected here against PostgreSQL
    test_a_conditional_unique_constraint_is_checked_as_drf_checks_it,
    test_a_pk_of_the_wrong_type_is_refused_as_drf_refuses_it,
    test_a_row_updating_a_stored_row_keeps_its_code_as_drf_with_that_instance,
    test_a_slug_is_looked_up_as_it_is,
    test_an_iexact_unique_validator_refuses_another_case,
)
from tests.imports.test_fidelity_generated import (  # noqa: F401
    test_the_library_answers_each_row_as_drf,
)

pytestmark = pytest.mark.django_db


def test_the_comparison_runs_on_postgresql():
    assert connection.vendor == "postgresql"
