"""
Partitioned previews on two worker processes, PostgreSQL, Redis and S3 (moto's server).

``PartitionedTagImportJob`` cuts its files into parts of 40 rows. Each test starts two workers
on queues of its own (``workers``); the parts run on both.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection

from data_exchange_tool import actions
from data_exchange_tool.imports import staging
from data_exchange_tool.models import ImportJob, ImportJobPart, PartState, Phase
from data_exchange_tool.states import JobState
from tests.helpers import create_job
from tests.integration.conftest import wait_for
from tests.testapp.models import PartitionedTagImportJob, Tag, TagImportJob

pytestmark = pytest.mark.django_db(transaction=True)

S = JobState
HEADERS = ["Tag code", "label", "weight"]


def tag_rows(count: int) -> list[list[Any]]:
    """Tag rows with what a preview must find across parts: repeated codes and labels,
    invalid values, quoted newlines, a blank line."""
    rows: list[list[Any]] = [[f"T-{i:04d}", f"Label {i}", i % 7] for i in range(count)]
    rows[5] = ["T-0005", "Label 5", 5]  # stored as is: unchanged
    rows[10] = ["T-0010", "Label 10", 99]  # stored with another weight: updated
    rows[20][1] = "Two lines,\nand a comma"
    rows[21][1] = 'A "quoted"\r\nlabel'
    rows[30][2] = "heavy"  # not a number
    rows[44][1] = "Held elsewhere"  # a stored tag holds this label
    rows[210][0] = "T-0003"  # the code of row 5 of the file, in another part
    rows[215][0] = rows[214][0]  # the code of the row before, in the same part
    rows[230][1] = "Label 2"  # the label of row 4 of the file, in another part
    rows[250][0] = "T-0003"  # again
    rows[260][1] = rows[20][1]
    return rows


def tag_file(count: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for index, row in enumerate(tag_rows(count)):
        if index == 150:
            out.write("\r\n")  # a blank line: a record, not a row
        writer.writerow(row)
    return out.getvalue().encode()


def stored_tags() -> None:
    Tag.objects.create(code="T-0005", label="Label 5", weight=5)
    Tag.objects.create(code="T-0010", label="Label 10", weight=3)
    Tag.objects.create(code="X-1", label="Held elsewhere", weight=1)


def outcome(job: ImportJob) -> tuple[dict, list, list]:
    """What a preview found: counts, row errors and the rows of its table, comparable."""
    job.refresh_from_db()
    errors = sorted(
        (e.row_number, e.column, e.message, json.dumps(e.values, sort_keys=True))
        for e in job.row_errors.filter(phase=Phase.PREVIEW)
    )
    rows = sorted(
        (
            r.row_number,
            r.action,
            json.dumps(r.values, sort_keys=True),
            json.dumps(r.changes, sort_keys=True),
            json.dumps(sorted(r.errors)),
        )
        for r in job.preview_rows.all()
    )
    return job.counts, errors, rows


def ended(job: ImportJob, *states: str) -> ImportJob | None:
    current = ImportJob.objects.get(pk=job.pk)
    return current if current.state in states else None


def no_staging_left(job: ImportJob) -> None:
    """Wait until the job's staging tables are dropped (once its end commits)."""
    wait_for(lambda: staging_tables(job) == [], timeout=30)


#: A part task's end in a worker's log: when, and how long it ran.
_PART_DONE = re.compile(
    r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/MainProcess\] Task "
    r"data_exchange_tool\.(?:preview|import)_part\[[^\]]+\] succeeded in ([\d.]+)s"
)


def part_runs(log: str) -> list[tuple[float, float]]:
    """Return ``(start, end)`` of each part task a worker's log says it ran."""
    runs = []
    for stamp, seconds in _PART_DONE.findall(log):
        # Both logs are written in this machine's local time: any zone compares them alike.
        end = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC).timestamp()
        runs.append((end - float(seconds), end))
    return runs


def ran_at_once(first: list[tuple[float, float]], second: list[tuple[float, float]]) -> bool:
    return any(a < d and c < b for a, b in first for c, d in second)


def staging_tables(job: ImportJob | int) -> list[str]:
    """Return the staging tables of ``job`` (or of the job of this pk), sorted."""
    pk = job if isinstance(job, int) else job.pk
    with connection.cursor() as cursor:
        cursor.execute(  # "_" escaped: a bare one matches any character (job 12's tables too)
            "SELECT tablename FROM pg_tables WHERE tablename LIKE %s ORDER BY tablename",
            [f"dxt\\_stage\\_{pk}\\_%"],
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_partitioned_preview_finds_what_the_single_preview_finds(workers):
    first, second = workers.start(), workers.start()
    stored_tags()
    content = tag_file(300)
    single = actions.start_import(TagImportJob, _upload(content), in_process=True)
    single.refresh_from_db()
    assert single.state == S.PREVIEW_SUCCEEDED, single.message

    job = create_job(content, "tags.csv", PartitionedTagImportJob)
    done = wait_for(lambda: ended(job, S.PREVIEW_SUCCEEDED, S.PREVIEW_FAILED), timeout=120)
    assert done.state == S.PREVIEW_SUCCEEDED, done.message

    parts = list(ImportJobPart.objects.filter(job=job))
    assert len(parts) >= 7
    assert {p.state for p in parts} == {PartState.DONE}
    assert sum(p.records for p in parts) == 302  # the header, 300 rows, a blank line
    for worker in (first, second):  # both worker processes ran parts
        assert "data_exchange_tool.preview_part" in worker.log(), worker.name
    assert ran_at_once(part_runs(first.log()), part_runs(second.log()))  # at the same time

    counts, errors, rows = outcome(done)
    assert (counts, errors, rows) == outcome(single)
    assert counts == {"total": 300, "new": 291, "updated": 1, "unchanged": 1, "invalid": 7}
    messages = {(row, message.split(":")[0]) for row, _column, message, _values in errors}
    # Found across parts and inside one, numbered as the file (the blank line is row 152).
    assert (213, "Duplicate of row 5") in messages
    assert (218, "Duplicate of row 217") in messages
    assert (233, "Duplicate of row 4") in messages
    assert (253, "Duplicate of row 5") in messages
    assert (263, "Duplicate of row 22") in messages
    assert done.progress_done == done.progress_total == 300
    no_staging_left(done)


def _upload(content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("tags.csv", content, content_type="text/csv")


def test_a_file_that_cannot_be_cut_runs_in_one_task(workers):
    workers.start()
    workers.start()
    rows = [[f"T-{i:04d}", f"Label {i}", 1] for i in range(200)]
    rows[100][1] = "x" * 10  # fine
    content = ("\r\n".join(",".join(map(str, r)) for r in [HEADERS, *rows]) + "\r\n").encode(
        "utf-16"
    )
    job = create_job(content, "tags.csv", PartitionedTagImportJob)
    done = wait_for(lambda: ended(job, S.PREVIEW_SUCCEEDED, S.PREVIEW_FAILED), timeout=120)
    assert done.state == S.PREVIEW_SUCCEEDED, done.message
    assert done.counts["new"] == 200
    assert not ImportJobPart.objects.filter(job=job).exists()  # UTF-16 is never cut


def test_a_cancelled_partitioned_preview_stops_every_part_and_drops_its_staging(workers):
    workers.start()
    workers.start()
    job = create_job(
        tag_file(300), "tags.csv", PartitionedTagImportJob, options={"row_delay": 0.02}
    )
    wait_for(lambda: ImportJobPart.objects.filter(job=job, state=PartState.RUNNING).count() >= 2)
    actions.cancel_import(ImportJob.objects.get(pk=job.pk))
    wait_for(
        lambda: not ImportJobPart.objects.filter(job=job, state=PartState.RUNNING).exists(),
        timeout=60,
    )
    assert ImportJob.objects.get(pk=job.pk).state == S.CANCELLED
    parts = ImportJobPart.objects.filter(job=job)
    assert parts.filter(state=PartState.DONE).count() < parts.count()
    wait_for(lambda: staging_tables(job) == [], timeout=30)


def test_a_part_whose_worker_is_killed_runs_again_and_the_preview_ends(workers):
    first = workers.start()
    job = create_job(
        tag_file(300), "tags.csv", PartitionedTagImportJob, options={"row_delay": 0.01}
    )
    running = wait_for(
        lambda: ImportJobPart.objects.filter(
            job=job, state=PartState.RUNNING, progress_done__gt=0
        ).first(),
        timeout=60,
    )
    first.kill()
    # A worker that starts sends again the parts the dead worker left (its worker_ready).
    second = workers.start()
    workers.start()
    done = wait_for(lambda: ended(job, S.PREVIEW_SUCCEEDED, S.PREVIEW_FAILED), timeout=180)
    assert done.state == S.PREVIEW_SUCCEEDED, done.message
    running.refresh_from_db()
    assert running.state == PartState.DONE
    assert running.attempts == 2
    assert done.counts["total"] == 300
    assert second.process.poll() is None
    no_staging_left(done)
    assert staging.keys_table(job.pk) not in staging_tables(done)


# --- the partitioned import ------------------------------------------------------------------


def written_tags() -> dict[str, tuple[str, Any]]:
    return {t.code: (t.label, t.weight) for t in Tag.objects.all()}


def cancelled_with_nothing_written(job: ImportJob) -> ImportJob:
    """Wait for ``job``'s import to end cancelled and its parts to stop; the target holds no
    row. Return the job read again."""
    done = imported(job)
    assert done.state == S.CANCELLED
    wait_for(
        lambda: not ImportJobPart.objects.filter(job=job, state=PartState.RUNNING).exists(),
        timeout=60,
    )
    assert not Tag.objects.exists()
    return done


def single_import(content: bytes) -> tuple[ImportJob, dict[str, tuple[str, Any]]]:
    """Import ``content`` in one task (forced, in this process); return the job and the tags it
    left, then empty the table for the partitioned run to compare."""
    single = actions.start_import(TagImportJob, _upload(content), in_process=True)
    actions.confirm_import(ImportJob.objects.get(pk=single.pk), force=True, in_process=True)
    single = ImportJob.objects.get(pk=single.pk)
    assert single.state == S.IMPORT_SUCCEEDED, single.message
    written = written_tags()
    Tag.objects.all().delete()
    return single, written


def import_errors(job: ImportJob) -> list[tuple]:
    return sorted(
        (e.row_number, e.column, e.message, json.dumps(e.values, sort_keys=True))
        for e in job.row_errors.filter(phase=Phase.IMPORT)
    )


def previewed(job: ImportJob) -> ImportJob:
    done = wait_for(lambda: ended(job, S.PREVIEW_SUCCEEDED, S.PREVIEW_FAILED), timeout=120)
    assert done.state == S.PREVIEW_SUCCEEDED, done.message
    return done


def imported(job: ImportJob) -> ImportJob:
    return wait_for(
        lambda: ended(job, S.IMPORT_SUCCEEDED, S.IMPORT_FAILED, S.CANCELLED), timeout=180
    )


def test_a_partitioned_import_writes_what_the_single_import_writes(workers):
    workers.start()
    workers.start()
    stored_tags()
    content = tag_file(300)
    single, expected = single_import(content)
    stored_tags()

    job = previewed(create_job(content, "tags.csv", PartitionedTagImportJob))
    actions.confirm_import(job, force=True)
    done = imported(job)
    assert done.state == S.IMPORT_SUCCEEDED, done.message

    parts = ImportJobPart.objects.filter(job=job, phase=Phase.IMPORT)
    assert parts.count() >= 7
    assert set(parts.values_list("state", flat=True)) == {PartState.DONE}
    assert written_tags() == expected  # field by field, row by row
    assert len(expected) == 3 + 291  # the stored tags and the new rows
    assert import_errors(done) == import_errors(single)
    assert done.counts == single.counts
    no_staging_left(done)


def plain_tag_file(count: int) -> bytes:
    rows = [[f"T-{i:04d}", f"Label {i}", i % 7] for i in range(count)]
    return ("\r\n".join(",".join(map(str, r)) for r in [HEADERS, *rows]) + "\r\n").encode()


def test_an_invalid_row_in_a_late_part_fails_the_import_and_writes_nothing(workers):
    workers.start()
    workers.start()
    job = previewed(create_job(plain_tag_file(300), "tags.csv", PartitionedTagImportJob))
    assert job.counts["new"] == 300
    Tag.objects.create(code="X-9", label="Label 280", weight=1)  # row 282 is invalid now
    actions.confirm_import(job)
    done = imported(job)
    assert done.state == S.IMPORT_FAILED
    assert "row 282, column label" in done.message, done.message
    assert list(Tag.objects.values_list("code", flat=True)) == ["X-9"]  # nothing written
    assert [e[0] for e in import_errors(done)] == [282]
    no_staging_left(done)
    # The lock is free: another import of the target may start.
    assert not ImportJob.objects.filter(state=S.IMPORT_IN_PROGRESS).exists()


def importing(delay: float) -> ImportJob:
    """Preview 300 rows, confirm them with ``row_delay`` ``delay``; return the job once two of
    its import's parts run."""
    job = previewed(create_job(plain_tag_file(300), "tags.csv", PartitionedTagImportJob))
    ImportJob._base_manager.filter(pk=job.pk).update(options={"row_delay": delay})
    actions.confirm_import(ImportJob.objects.get(pk=job.pk))
    wait_for(
        lambda: (
            ImportJobPart.objects.filter(
                job=job, phase=Phase.IMPORT, state=PartState.RUNNING, progress_done__gt=0
            ).count()
            >= 2
        ),
        timeout=60,
    )
    return job


def test_a_cancelled_partitioned_import_writes_nothing(workers):
    workers.start()
    workers.start()
    job = importing(0.02)
    actions.cancel_import(ImportJob.objects.get(pk=job.pk))
    cancelled_with_nothing_written(job)
    wait_for(lambda: staging_tables(job) == [], timeout=30)


def test_an_import_part_whose_worker_is_killed_runs_again(workers):
    first = workers.start()
    job = previewed(create_job(plain_tag_file(300), "tags.csv", PartitionedTagImportJob))
    ImportJob._base_manager.filter(pk=job.pk).update(options={"row_delay": 0.01})
    actions.confirm_import(ImportJob.objects.get(pk=job.pk))
    running = wait_for(
        lambda: ImportJobPart.objects.filter(
            job=job, phase=Phase.IMPORT, state=PartState.RUNNING, progress_done__gt=0
        ).first(),
        timeout=60,
    )
    first.kill()
    workers.start()
    workers.start()
    done = imported(job)
    assert done.state == S.IMPORT_SUCCEEDED, done.message
    running.refresh_from_db()
    assert (running.state, running.attempts) == (PartState.DONE, 2)
    assert Tag.objects.count() == 300
    assert sorted(Tag.objects.values_list("code", flat=True))[-1] == "T-0299"
    no_staging_left(done)


# --- workbooks -------------------------------------------------------------------------------


def test_a_workbook_is_converted_once_and_its_parts_find_what_the_single_preview_finds(workers):
    from data_exchange_tool.storage import get_storage
    from tests.helpers import xlsx_bytes

    workers.start()
    workers.start()
    stored_tags()
    rows = tag_rows(300)
    rows[150:150] = [["", "", ""]]  # a blank row: the workbook's numbers skip it
    content = xlsx_bytes(rows, HEADERS)
    upload = _upload(content)
    upload.name = "tags.xlsx"
    single = actions.start_import(TagImportJob, upload, in_process=True)
    single.refresh_from_db()
    assert single.state == S.PREVIEW_SUCCEEDED, single.message

    job = previewed(create_job(content, "tags.xlsx", PartitionedTagImportJob))
    parts = list(ImportJobPart.objects.filter(job=job))
    assert len(parts) >= 7
    assert {p.source for p in parts} == {parts[0].source}
    assert parts[0].source.endswith(".csv")
    assert outcome(job) == outcome(single)
    assert job.counts["invalid"] == 7
    # Deleted once the preview's end commits.
    wait_for(lambda: not get_storage().exists(parts[0].source), timeout=30)

    actions.confirm_import(job, force=True)
    done = imported(job)
    assert done.state == S.IMPORT_SUCCEEDED, done.message
    assert Tag.objects.count() == 3 + 291
    assert ImportJobPart.objects.filter(job=job, phase=Phase.IMPORT).count() >= 7
    no_staging_left(done)


def test_a_partitioned_import_of_unchanged_rows_writes_nothing_and_succeeds(workers):
    workers.start()
    workers.start()
    content = plain_tag_file(120)
    first = previewed(create_job(content, "tags.csv", PartitionedTagImportJob))
    actions.confirm_import(first)
    assert imported(first).state == S.IMPORT_SUCCEEDED
    before = written_tags()
    again = previewed(create_job(content, "tags.csv", PartitionedTagImportJob))
    assert again.counts["unchanged"] == 120
    actions.confirm_import(again)
    done = imported(again)
    assert done.state == S.IMPORT_SUCCEEDED, done.message  # parts that staged no row
    assert written_tags() == before
    assert done.written_pks == []
    no_staging_left(done)


# --- the apply, while the last parts run ------------------------------------------------------

#: Rows from this code on wait (``row_delay``): the last part runs long after the others.
SLOW_FROM = "T-0290"
#: What a worker's log says of a part the apply wrote while other parts ran.
APPLIED_EARLY = re.compile(r"part (\d+) of job (\d+) applied while parts run")


def early_parts(job: ImportJob, *logs: str) -> set[int]:
    """Return the parts of ``job`` the workers' logs say were applied while others ran."""
    return {int(p) for log in logs for p, j in APPLIED_EARLY.findall(log) if int(j) == job.pk}


def slow_last_part(job: ImportJob, delay: float = 0.5) -> ImportJob:
    """The rows of the last part wait ``delay`` s each: it ends seconds after the others, even
    when it starts first (the apply's runner takes the highest part first)."""
    ImportJob._base_manager.filter(pk=job.pk).update(
        options={"row_delay": delay, "slow_from": SLOW_FROM}
    )
    return ImportJob.objects.get(pk=job.pk)


def test_the_apply_writes_the_parts_that_ended_while_the_last_one_runs(workers):
    first, second = workers.start(prefetch=1), workers.start(prefetch=1)
    job = previewed(create_job(plain_tag_file(300), "tags.csv", PartitionedTagImportJob))
    actions.confirm_import(slow_last_part(job))
    done = imported(job)
    assert done.state == S.IMPORT_SUCCEEDED, done.message

    count = ImportJobPart.objects.filter(job=job, phase=Phase.IMPORT).count()
    assert count >= 7
    # Every part but the slow last one was applied before it ended, in one transaction.
    assert early_parts(job, first.log(), second.log()) == set(range(count - 1))
    codes = sorted(Tag.objects.values_list("code", flat=True))
    assert codes == [f"T-{i:04d}" for i in range(300)]
    assert done.counts["new"] == 300
    no_staging_left(done)


def test_parts_applied_early_are_applied_again_when_one_holds_a_repeated_row(workers):
    first, second = workers.start(prefetch=1), workers.start(prefetch=1)
    rows = [[f"T-{i:04d}", f"Label {i}", i % 7] for i in range(300)]
    rows[100] = ["T-0010", "Label 10", 6]  # row 102 repeats row 12's key: left out
    content = ("\r\n".join(",".join(map(str, r)) for r in [HEADERS, *rows]) + "\r\n").encode()
    Tag.objects.create(code="T-0010", label="Label 10", weight=1)  # row 12 updates it
    single, expected = single_import(content)
    assert expected["T-0010"] == ("Label 10", 3)
    Tag.objects.create(code="T-0010", label="Label 10", weight=1)

    job = previewed(create_job(content, "tags.csv", PartitionedTagImportJob))
    actions.confirm_import(slow_last_part(job), force=True)
    done = imported(job)
    assert done.state == S.IMPORT_SUCCEEDED, done.message
    # The part of row 102 was applied early, as staged (its update of T-0010 included); the
    # apply found the row repeated, rolled the early parts back and applied them without it.
    count = ImportJobPart.objects.filter(job=job, phase=Phase.IMPORT).count()
    assert early_parts(job, first.log(), second.log()) == set(range(count - 1))
    assert f"the parts of job {job.pk} applied early are rolled back" in first.log() + second.log()
    assert written_tags() == expected
    # The same rows and columns (the unique label's message reads as "already exists", as the
    # README says of a unique value an earlier row took).
    assert [e[:2] for e in import_errors(done)] == [e[:2] for e in import_errors(single)]
    assert {e[0] for e in import_errors(done)} == {102}
    assert done.counts == single.counts
    no_staging_left(done)


def test_a_part_the_database_refuses_early_is_applied_again_with_the_others(workers):
    first, second = workers.start(prefetch=1), workers.start(prefetch=1)
    stored_tags()
    content = tag_file(300)
    single, expected = single_import(content)
    stored_tags()

    job = previewed(create_job(content, "tags.csv", PartitionedTagImportJob))
    actions.confirm_import(slow_last_part(job), force=True)
    done = imported(job)
    assert done.state == S.IMPORT_SUCCEEDED, done.message
    # Row 213 repeats row 5's code: applied as staged, its part broke the unique code; the
    # parts applied before it were rolled back, and every part applied at the end without it.
    assert early_parts(job, first.log(), second.log())
    assert f"the parts of job {job.pk} applied early are rolled back" in first.log() + second.log()
    assert written_tags() == expected
    assert import_errors(done) == import_errors(single)
    assert done.counts == single.counts
    no_staging_left(done)


def test_an_invalid_row_in_the_last_part_rolls_back_the_parts_applied_early(workers):
    first, second = workers.start(prefetch=1), workers.start(prefetch=1)
    job = previewed(create_job(plain_tag_file(300), "tags.csv", PartitionedTagImportJob))
    Tag.objects.create(code="X-9", label="Label 295", weight=1)  # row 297 is invalid now
    actions.confirm_import(slow_last_part(job))
    done = imported(job)
    assert done.state == S.IMPORT_FAILED
    assert "row 297, column label" in done.message, done.message
    assert len(early_parts(job, first.log(), second.log())) >= 6
    assert list(Tag.objects.values_list("code", flat=True)) == ["X-9"]  # nothing written
    assert [e[0] for e in import_errors(done)] == [297]
    no_staging_left(done)
    assert not ImportJob.objects.filter(state=S.IMPORT_IN_PROGRESS).exists()  # the lock is free


def test_a_cancel_while_the_apply_waits_for_the_last_part_writes_nothing(workers):
    first, second = workers.start(prefetch=1), workers.start(prefetch=1)
    job = previewed(create_job(plain_tag_file(300), "tags.csv", PartitionedTagImportJob))
    actions.confirm_import(slow_last_part(job, delay=0.5))
    wait_for(lambda: early_parts(job, first.log(), second.log()), timeout=60)
    actions.cancel_import(ImportJob.objects.get(pk=job.pk))
    done = cancelled_with_nothing_written(job)
    no_staging_left(done)


def test_a_worker_killed_while_its_apply_waits_leaves_the_last_part_to_end_the_import(workers):
    first, second = workers.start(prefetch=1), workers.start(prefetch=1)
    job = previewed(create_job(plain_tag_file(300), "tags.csv", PartitionedTagImportJob))
    # Every row waits: the other worker still has parts to run when the apply's is killed (the
    # apply's runner runs a part too: it runs again from its own message, still queued).
    ImportJob._base_manager.filter(pk=job.pk).update(options={"row_delay": 0.02})
    actions.confirm_import(ImportJob.objects.get(pk=job.pk))
    applying = wait_for(
        lambda: next((w for w in (first, second) if early_parts(job, w.log())), None), timeout=60
    )
    applying.kill()  # its transaction, and what it applied, roll back with its session
    done = imported(job)
    assert done.state == S.IMPORT_SUCCEEDED, done.message
    assert sorted(Tag.objects.values_list("code", flat=True)) == [f"T-{i:04d}" for i in range(300)]
    assert done.counts["new"] == 300
    no_staging_left(done)


def test_with_one_worker_the_apply_runs_the_parts_itself_and_applies_each_as_it_ends(workers):
    only = workers.start(prefetch=1)
    job = previewed(create_job(plain_tag_file(300), "tags.csv", PartitionedTagImportJob))
    ImportJob._base_manager.filter(pk=job.pk).update(options={"row_delay": 0.01})
    actions.confirm_import(ImportJob.objects.get(pk=job.pk))
    done = imported(job)
    assert done.state == S.IMPORT_SUCCEEDED, done.message
    count = ImportJobPart.objects.filter(job=job, phase=Phase.IMPORT).count()
    assert count >= 7
    # The apply, sent ahead of the parts, ran them on its runner (the highest first) and applied
    # parts while the next ones ran (queued behind the parts, it used to start after the last).
    early = early_parts(job, only.log())
    assert early, "no part was applied while the others ran"
    assert early < set(range(count)), early
    assert 0 not in early  # the runner's last part: applied with the end
    assert sorted(Tag.objects.values_list("code", flat=True)) == [f"T-{i:04d}" for i in range(300)]
    assert done.counts["new"] == 300
    no_staging_left(done)


def test_a_part_gives_its_lease_back_only_once_its_end_is_committed(transactional_db):
    """Given back inside the transaction that records the end, the lease let others see the
    part running with no session holding it: dead (the waiting apply gave up)."""
    import threading

    from django import db
    from django.db import transaction

    from data_exchange_tool import leases, liveness
    from data_exchange_tool.models import RunResult
    from data_exchange_tool.tasks import parts as part_tasks

    job = create_job(plain_tag_file(3), "tags.csv", PartitionedTagImportJob)
    ImportJob._base_manager.filter(pk=job.pk).update(state=S.IMPORT_IN_PROGRESS)
    job = ImportJob.objects.get(pk=job.pk)
    for index in range(2):
        ImportJobPart.objects.create(
            job=job, phase=Phase.IMPORT, index=index, count=2, start=index * 10, end=None
        )
    part = ImportJobPart.objects.get(job=job, index=0)
    assert part_tasks.claim_part(part.pk) is not None
    part.refresh_from_db()

    def seen_from_another_session() -> str | None:
        found: list[str | None] = []

        def look() -> None:
            try:
                found.append(liveness.part_death(ImportJobPart.objects.get(pk=part.pk)))
            finally:
                db.connections.close_all()

        thread = threading.Thread(target=look)
        thread.start()
        thread.join()
        return found[0]

    with transaction.atomic():
        part_tasks._part_done(job, part, RunResult(), 3)
        # Not committed yet: the part still reads as running, and lives.
        assert seen_from_another_session() is None
    assert ImportJobPart.objects.get(pk=part.pk).state == PartState.DONE
    assert leases.held(part) is False
    assert seen_from_another_session() is None  # done: nothing to judge
    # Read as running before it ended, its lease found free after: it ended, it is not dead.
    assert part.state == PartState.RUNNING
    assert liveness.part_death(part) is None
    # A part that runs with no session holding its lease is dead.
    other = ImportJobPart.objects.get(job=job, index=1)
    ImportJobPart.objects.filter(pk=other.pk).update(state=PartState.RUNNING, attempts=1)
    other.refresh_from_db()
    assert liveness.part_death(other) == "part 2 of 2: killed, or its database connection was lost"
