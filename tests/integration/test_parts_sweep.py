"""
The sweep of the staging partitioned jobs leave behind (``liveness.sweep_staging``), against
PostgreSQL, S3 (moto's server) and worker processes killed as the OOM killer would.

A run drops its staging tables and its converted workbook when it ends; a worker killed between
the commit of that end and the drop leaves them, and so do a deleted job and a part that created
its tables late. The sweep drops them, never what a running job or a running part uses.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from data_exchange_tool import leases, liveness
from data_exchange_tool.imports import staging
from data_exchange_tool.models import ImportJob, ImportJobPart, PartState, Phase
from data_exchange_tool.states import JobState
from data_exchange_tool.storage import get_storage
from tests.integration.test_parts import staging_tables
from tests.testapp.models import PartitionedTagImportJob

pytestmark = pytest.mark.django_db(transaction=True)

S = JobState


def left_behind(state: str, *, parts: int = 2) -> tuple[ImportJob, str]:
    """A job in ``state`` with what a killed worker leaves: its keys table, its parts' tables
    and the converted workbook its parts name. Return the job and the workbook's name."""
    job = PartitionedTagImportJob.objects.create(state=state)
    source = get_storage().save(staging.source_name(job.pk), ContentFile(b"Tag code\r\nT-1\r\n"))
    staging.create(job.pk)
    with connection.cursor() as cursor:
        for index in range(parts):
            ImportJobPart.objects.create(
                job=job,
                phase=Phase.IMPORT,
                index=index,
                count=parts,
                start=index,
                source=source,
                state=PartState.DONE,
            )
            for table in staging.part_tables(job.pk, index):
                cursor.execute(f"CREATE UNLOGGED TABLE {table} (dxt_row integer)")
    assert len(staging_tables(job)) == 1 + 2 * parts
    return job, source


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


def test_an_ended_job_keeps_its_staging_while_a_part_of_it_still_runs(transactional_db):
    # A part claimed before its job was cancelled runs until its next batch: its lease is held.
    job, source = left_behind(S.CANCELLED, parts=1)
    part = ImportJobPart.objects.get(job=job)
    ImportJobPart.objects.filter(pk=part.pk).update(state=PartState.RUNNING)
    assert leases.hold(part)
    try:
        liveness.sweep_staging()
        assert len(staging_tables(job)) == 3
        assert get_storage().exists(source)
    finally:
        leases.release(part)
    # Its worker is gone: the part's lease is free.
    assert liveness.sweep_staging() >= 1
    assert staging_tables(job) == []
    assert not get_storage().exists(source)


def test_a_job_in_progress_keeps_its_staging_whatever_its_parts_say(transactional_db):
    job, source = left_behind(S.IMPORT_IN_PROGRESS)  # every part done: the apply is next
    liveness.sweep_staging()
    assert len(staging_tables(job)) == 5
    assert get_storage().exists(source)
    ImportJob._base_manager.filter(pk=job.pk).update(state=S.IMPORT_FAILED)
    liveness.sweep_staging()
    assert staging_tables(job) == []
