"""
The sweep of the staging partitioned jobs leave behind (``liveness.sweep_staging``), against
PostgreSQL, S3 (moto's server) and worker processes killed as the OOM killer would.

A run drops its staging tables and its converted workbook when it ends; a worker killed between
the commit of that end and the drop leaves them, and so do a deleted job and a part that created
its tables late. The reaper (its task and command), a worker that starts and every partitioned
run's end sweep them, never what a running job or a running part uses; a deleted job's
converted workbook is deleted with it.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection

from data_exchange_tool import actions, leases, liveness
from data_exchange_tool.imports import staging
from data_exchange_tool.models import ImportJob, ImportJobPart, PartState, Phase
from data_exchange_tool.states import JobState
from data_exchange_tool.storage import get_storage
from tests.helpers import create_job, xlsx_bytes
from tests.integration.conftest import wait_for
from tests.integration.test_parts import (
    HEADERS,
    imported,
    importing,
    previewed,
    staging_tables,
)
from tests.testapp.models import PartitionedTagImportJob, Tag

pytestmark = pytest.mark.django_db(transaction=True)

S = JobState


def left_behind(state: str, *, parts: int = 2) -> tuple[ImportJob, str]:
    """A job in ``state`` with what a killed worker leaves: its keys table, its parts' tables
    and the converted workbook its parts name. Return the job and the workbook's name."""
    job = PartitionedTagImportJob.objects.create(state=state)
    source = get_storage().save(f"data_exchange/parts/{job.pk}.csv", ContentFile(b"Tag code\r\n"))
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


def sweep_command() -> str:
    out = io.StringIO()
    call_command("reap_stale_jobs", stdout=out)
    return out.getvalue()


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


def test_the_sweep_drops_what_ended_and_deleted_jobs_left_and_keeps_a_running_import(workers):
    workers.start()
    workers.start()
    running = importing(0.05)
    succeeded, succeeded_source = left_behind(S.IMPORT_SUCCEEDED)
    failed, failed_source = left_behind(S.IMPORT_FAILED)
    deleted, deleted_source = left_behind(S.CANCELLED)
    ImportJob._base_manager.filter(pk=deleted.pk).delete()  # its parts go with it
    assert not ImportJobPart.objects.filter(job_id=deleted.pk).exists()
    assert not get_storage().exists(deleted_source)  # deleted with the job
    # A file no part names (another deployment's, sharing the storage) is never deleted.
    foreign = get_storage().save(f"data_exchange/parts/{deleted.pk}.csv", ContentFile(b"x\r\n"))
    kept = staging_tables(running)
    assert staging.keys_table(running.pk) in kept
    assert any("_new_" in table for table in kept)  # a running part's tables

    out = sweep_command()

    assert "Failed 0 preview(s), 0 import(s) and 0 export(s)" in out
    assert "Swept the staging tables and converted workbooks of " in out
    for job in (succeeded, failed, deleted):
        assert staging_tables(job) == [], job.state
    for name in (succeeded_source, failed_source):
        assert not get_storage().exists(name), name
    assert get_storage().exists(foreign)
    get_storage().delete(foreign)
    # The running import's tables are all there (parts that start later add theirs), and it
    # ends as if nothing happened.
    assert set(kept) <= set(staging_tables(running))
    later, later_source = left_behind(S.CANCELLED)
    assert ImportJob.objects.get(pk=running.pk).state == S.IMPORT_IN_PROGRESS
    done = imported(running)
    assert done.state == S.IMPORT_SUCCEEDED, done.message
    assert Tag.objects.count() == 300
    wait_for(lambda: staging_tables(running) == [], timeout=30)
    # The apply's end swept what was left meanwhile.
    wait_for(lambda: staging_tables(later) == [], timeout=30)
    assert not get_storage().exists(later_source)


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


def test_a_worker_killed_after_the_apply_commits_leaves_staging_a_starting_worker_sweeps(workers):
    # The window between the commit of the import's end and the drop of its staging is made
    # long (the test app's receiver of ``import_finished`` waits in it); the worker is killed
    # there, its staging tables and converted workbook left behind.
    first = workers.start()
    content = xlsx_bytes([[f"T-{i:04d}", f"Label {i}", i % 7] for i in range(300)], HEADERS)
    job = previewed(create_job(content, "tags.xlsx", PartitionedTagImportJob))
    ImportJob._base_manager.filter(pk=job.pk).update(options={"pause_after_import": 120})
    actions.confirm_import(ImportJob.objects.get(pk=job.pk))
    done = wait_for(
        lambda: ImportJob.objects.filter(pk=job.pk, state=S.IMPORT_SUCCEEDED).first(), timeout=120
    )
    first.kill()
    left = staging_tables(done)
    assert staging.keys_table(job.pk) in left
    assert len(left) >= 1 + 2 * 7  # the keys and every part's two tables
    sources = set(
        ImportJobPart.objects.filter(job=job, phase=Phase.IMPORT).values_list("source", flat=True)
    )
    (source,) = sources
    assert source.endswith(".csv")
    assert get_storage().exists(source)

    workers.start()  # its worker_ready sweeps

    wait_for(lambda: staging_tables(job) == [], timeout=30)
    wait_for(lambda: not get_storage().exists(source), timeout=30)
    assert ImportJob.objects.get(pk=job.pk).state == S.IMPORT_SUCCEEDED
    assert Tag.objects.count() == 300  # the import stands


def test_a_workbook_converted_by_a_lead_killed_before_its_parts_named_it_is_deleted(
    transactional_db,
):
    """The lead stores the CSV a workbook is converted to, then commits the parts that name it:
    killed in between, it leaves a file no part names. Its name, noted on the job before the
    file was stored, lets the next attempt, the job's end and its deletion delete it."""
    from data_exchange_tool.imports.pipeline import convert_workbook
    from tests.integration.test_parts import tag_rows

    storage = get_storage()
    content = xlsx_bytes(tag_rows(300), HEADERS)
    job = PartitionedTagImportJob.objects.create(
        file=ContentFile(content, name="tags.xlsx"), file_name="tags.xlsx", file_size=len(content)
    )
    first = convert_workbook(job, 40)  # the attempt that dies here: no part names its file
    assert first is not None
    assert storage.exists(first.source)
    assert staging.converted_name(job.pk) == first.source

    again = convert_workbook(ImportJob.objects.get(pk=job.pk), 40)  # the next attempt
    assert again is not None
    assert again.source != first.source
    assert not storage.exists(first.source)
    assert storage.exists(again.source)
    assert staging.converted_name(job.pk) == again.source

    staging.drop_all(job.pk)  # the job's end
    assert not storage.exists(again.source)

    last = convert_workbook(ImportJob.objects.get(pk=job.pk), 40)
    assert last is not None
    assert storage.exists(last.source)
    ImportJob.objects.get(pk=job.pk).delete()
    wait_for(lambda: not storage.exists(last.source), timeout=10)
    assert not storage.exists(job.file.name)
