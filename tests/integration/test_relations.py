"""Relations and files on the real services: PostgreSQL, a real worker, S3 (moto's server).

- Tags and memberships are imported, updated (a membership removed, one added, one redated) and
  exported through the worker; the export imports back unchanged, and exports again to the same
  file.
- Files served from 127.0.0.1 are downloaded into S3 by an import run in this process (the test
  lets downloads reach 127.0.0.1 through ``DATA_EXCHANGE_URL_ALLOWED_HOSTS``, which a separate
  worker process would not see); a private address is refused.
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.conf import settings
from storages.backends.s3 import S3Storage

from data_exchange_tool import actions, tasks
from data_exchange_tool.models import ImportJobPreviewRow, ImportJobRowError
from data_exchange_tool.states import ExportState, JobState
from tests.helpers import create_job, csv_bytes
from tests.integration.conftest import wait_for
from tests.testapp.models import (
    Artist,
    ArtistExportJob,
    ArtistImportJob,
    Band,
    CatalogueItem,
    CatalogueItemExportJob,
    CatalogueItemImportJob,
    Membership,
    Tag,
)


def finished(job, *states):
    job.refresh_from_db()
    return job.state in states


def through_worker(content: bytes, job_type) -> object:
    """Preview and import a file through the worker; return the job."""
    job = create_job(content, "rows.csv", job_type)
    wait_for(lambda: finished(job, JobState.PREVIEW_SUCCEEDED, JobState.PREVIEW_FAILED))
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    actions.confirm_import(job)
    wait_for(lambda: finished(job, JobState.IMPORT_SUCCEEDED, JobState.IMPORT_FAILED))
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    return job


def export_through_worker(job_type) -> str:
    job = actions.start_export(job_type, file_format="csv")
    wait_for(lambda: finished(job, ExportState.EXPORT_SUCCEEDED, ExportState.EXPORT_FAILED))
    assert job.state == ExportState.EXPORT_SUCCEEDED, job.message
    with job.file.open("rb") as stored:
        return stored.read().decode("utf-8")


@pytest.mark.django_db(transaction=True)
def test_memberships_round_trip_through_the_worker(celery_worker):
    for title in ("Walter-Hodges", "Ortiz-Hughes", "Nguyen-Baker"):
        Band.objects.create(title=title)
    rows = [["Ann", "Walter-Hodges:1971-09-22;Ortiz-Hughes:2018-02-02"], ["Bob", ""]]
    through_worker(csv_bytes(rows, ["name", "bands"]), ArtistImportJob)
    rows = [["Ann", "Walter-Hodges:1972-01-01;Nguyen-Baker:2020-10-10"], ["Bob", ""]]
    job = through_worker(csv_bytes(rows, ["name", "bands"]), ArtistImportJob)
    assert (job.updated_rows, job.unchanged_rows) == (1, 1)
    found = {
        (m.artist.name, m.band.title): m.date_joined
        for m in Membership.objects.select_related("artist", "band")
    }
    assert found == {
        ("Ann", "Walter-Hodges"): datetime.date(1972, 1, 1),
        ("Ann", "Nguyen-Baker"): datetime.date(2020, 10, 10),
    }
    text = export_through_worker(ArtistExportJob)
    assert text.splitlines() == [
        "name,bands",
        "Ann,Walter-Hodges:1972-01-01;Nguyen-Baker:2020-10-10",
        "Bob,",
    ]
    again = through_worker(text.encode(), ArtistImportJob)
    assert (again.unchanged_rows, again.updated_rows) == (2, 0)
    assert export_through_worker(ArtistExportJob) == text
    assert Artist.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_tags_round_trip_through_the_worker(celery_worker):
    for code in ("red", "blue", "green"):
        Tag.objects.create(code=code, label=code.title())
    headers = ["sku", "name", "tags", "image"]
    rows = [["A-1", "Lamp", "red;blue", ""], ["A-2", "Desk", "", ""], ["A-3", "Chair", "green", ""]]
    through_worker(csv_bytes(rows, headers), CatalogueItemImportJob)
    rows[0][2], rows[2][2] = "blue;green", ""
    job = through_worker(csv_bytes(rows, headers), CatalogueItemImportJob)
    assert (job.updated_rows, job.unchanged_rows) == (2, 1)
    text = export_through_worker(CatalogueItemExportJob)
    assert text == csv_bytes(rows, headers).decode()
    tags = {
        i.sku: sorted(i.tags.values_list("code", flat=True)) for i in CatalogueItem.objects.all()
    }
    assert tags == {"A-1": ["blue", "green"], "A-2": [], "A-3": []}


# --- files into S3, the import run in this process --------------------------------------------


@pytest.fixture
def s3_images(monkeypatch, s3_bucket):
    """Store catalogue images in this run's bucket, under a prefix of the test's own."""
    storage = S3Storage(bucket_name=s3_bucket, location=f"media-{uuid.uuid4().hex[:8]}")
    monkeypatch.setattr(CatalogueItem._meta.get_field("image"), "storage", storage)
    return storage


def run_here(content: bytes, job_type, **fields):
    """Preview and import in this process (the tasks' own code, no worker)."""
    job = create_job(content, "items.csv", job_type, **fields)
    tasks.preview_job.apply((job.pk,))
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    actions.confirm_import(job)
    tasks.import_job.apply((job.pk,))
    job.refresh_from_db()
    return job


@pytest.fixture
def not_sent(monkeypatch):
    """Keep the tasks in this process: nothing reaches the broker."""
    for task in (tasks.preview_job, tasks.import_job):
        monkeypatch.setattr(task, "apply_async", lambda *args, **kwargs: None)


@pytest.mark.django_db
def test_files_are_downloaded_into_s3_and_export_as_their_url(
    file_server, s3_images, s3_client, not_sent
):
    file_server.files["lamp.png"] = b"\x89PNG lamp"
    rows = [["A-1", "Lamp", file_server.url("/files/lamp.png")], ["A-2", "Desk", ""]]
    job = run_here(csv_bytes(rows, ["sku", "name", "image"]), CatalogueItemImportJob)
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    image = CatalogueItem.objects.get(sku="A-1").image
    assert image.name.startswith("catalogue/lamp")
    key = f"{s3_images.location}/{image.name}"
    stored = s3_client.get_object(Bucket=s3_images.bucket_name, Key=key)
    assert stored["Body"].read() == b"\x89PNG lamp"
    # The export writes the file's (signed) S3 URL; imported back, it keeps the file.
    from tests.helpers import new_export, run_export

    export = run_export(new_export(CatalogueItemExportJob, format="csv"))
    with export.file.open("rb") as out:
        lines = out.read().decode().splitlines()
    url = lines[1].split(",")[3]
    assert url.startswith(f"{settings.AWS_S3_ENDPOINT_URL}/{s3_images.bucket_name}/{key}?")
    again = create_job("\n".join(lines).encode(), "again.csv", CatalogueItemImportJob)
    tasks.preview_job.apply((again.pk,))
    again.refresh_from_db()
    assert (again.unchanged_rows, again.updated_rows) == (2, 0), again.message
    assert len(file_server.hosts) == 1


@pytest.mark.django_db
def test_a_private_address_or_a_failed_download_is_the_rows_error(
    file_server, s3_images, s3_client, settings, not_sent
):
    file_server.files["lamp.png"] = b"lamp"
    settings.DATA_EXCHANGE_URL_MAX_SIZE = 3
    rows = [
        ["A-1", "Lamp", file_server.url("/files/lamp.png")],  # over the size limit
        ["A-2", "Desk", "http://10.0.0.1/desk.png"],  # a private address
        ["A-3", "Vase", ""],
    ]
    job = run_here(
        csv_bytes(rows, ["sku", "name", "image"]), CatalogueItemImportJob, force_import=True
    )
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert (job.new_rows, job.invalid_rows) == (1, 2)
    errors = ImportJobRowError.objects.filter(job=job, phase="import").order_by("row_number")
    assert [e.row_number for e in errors] == [2, 3]
    assert "the largest accepted is 3" in errors[0].message
    assert "10.0.0.1 is a private address" in errors[1].message
    assert list(CatalogueItem.objects.values_list("sku", flat=True)) == ["A-3"]
    listed = s3_client.list_objects_v2(Bucket=s3_images.bucket_name, Prefix=s3_images.location)
    assert listed.get("KeyCount", 0) == 0
    assert not ImportJobPreviewRow.objects.filter(job=job, action="invalid").exists()
