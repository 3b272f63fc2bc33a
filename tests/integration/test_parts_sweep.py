"""
The staging tables of partitioned jobs, against PostgreSQL.
"""

from __future__ import annotations

import pytest

from data_exchange_tool.imports import staging
from tests.integration.test_parts import staging_tables

pytestmark = pytest.mark.django_db(transaction=True)


def test_dropping_a_jobs_staging_leaves_a_job_whose_pk_starts_with_the_same_digits(
    transactional_db,
):
    staging.create(4242)
    staging.create(42421)  # "dxt_stage_4242_%" unescaped matches "dxt_stage_42421_keys"
    try:
        staging.drop_tables(4242)
        assert staging_tables(4242) == []
        assert staging_tables(42421) == [staging.keys_table(42421)]
    finally:
        staging.drop_tables(42421)
    assert staging_tables(42421) == []
