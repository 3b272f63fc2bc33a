"""Exports through a real worker on the export queue, PostgreSQL, Redis and S3 (moto's server)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from data_exchange_tool import actions
from data_exchange_tool.models import ExportJob
from data_exchange_tool.states import ExportState, JobState
from data_exchange_tool.storage import download_url
from example_project.demo.models import (
    Partner,
    Product,
    StockRecord,
    StockRecordExportJob,
    StockRecordImportJob,
)
from tests.helpers import create_job, make_catalogue
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def finished(job: ExportJob) -> bool:
    job.refresh_from_db()
    return job.state in (ExportState.EXPORT_SUCCEEDED, ExportState.EXPORT_FAILED)


def add_records(count: int) -> None:
    partners = list(Partner.objects.all())
    products = list(Product.objects.all())
    StockRecord.objects.bulk_create(
        (
            StockRecord(
                partner=partners[i % len(partners)],
                product=products[i % len(products)],
                partner_sku=f"{i:07d}" if i % 7 else f"=CMD{i}",
                price=Decimal(f"{i % 1000}.{i % 100:02d}"),
                num_in_stock=10,
                num_allocated=-(i % 3),
            )
            for i in range(count)
        ),
        batch_size=10_000,
    )


def add_many_records(count: int) -> None:
    """Insert ``count`` stock records in one statement (PostgreSQL's generate_series)."""
    partner, product = Partner.objects.first(), Product.objects.first()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO demo_stockrecord "
            "(partner_id, product_id, partner_sku, price, num_in_stock, num_allocated) "
            "SELECT %s, %s, lpad(g::text, 8, '0'), (g %% 1000) + 0.5, 10, 0 "
            "FROM generate_series(1, %s) AS g",
            [partner.pk, product.pk, count],
        )


def s3_key(job: ExportJob) -> str:
    return f"{settings.MODEL_DATA_EXCHANGE_S3_BASE_PATH}/{job.file.name}"


def test_export_runs_on_its_queue_and_lands_in_the_bucket(celery_worker, s3_client):
    make_catalogue()
    add_records(1_500)
    job = actions.start_export(StockRecordExportJob, filters={"partner": "ACME"})
    wait_for(lambda: finished(job))
    assert job.state == ExportState.EXPORT_SUCCEEDED, job.message
    assert job.queue == settings.DATA_EXCHANGE_EXPORT_QUEUE
    assert job.total_rows == 750
    head = s3_client.head_object(
        Bucket=settings.MODEL_DATA_EXCHANGE_S3_BUCKET_NAME, Key=s3_key(job)
    )
    assert head["ContentLength"] == job.file_size
    assert head["ContentType"].startswith("text/csv")

    url = download_url(job.file.name, job.file_name, expire=60)
    assert "Expires=" in url or "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - moto's local URL
        body = response.read()
        assert job.file_name in response.headers["Content-Disposition"]
    assert len(body) == job.file_size
    assert body.count(b"\r\n") == 751


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_round_trip_through_the_worker_and_s3(celery_worker, file_format):
    make_catalogue()
    add_records(2_000)
    before = sorted(StockRecord.objects.values_list("partner_sku", "price", "num_allocated"))
    export = actions.start_export(StockRecordExportJob, file_format=file_format)
    wait_for(lambda: finished(export))
    assert export.state == ExportState.EXPORT_SUCCEEDED, export.message

    with export.file.open("rb") as stored:
        content = stored.read()
    job = create_job(content, export.file_name, job_type=StockRecordImportJob)
    wait_for(
        lambda: (
            job.refresh_from_db()
            or job.state in (JobState.PREVIEW_SUCCEEDED, JobState.PREVIEW_FAILED)
        )
    )
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.unchanged_rows, job.new_rows, job.invalid_rows) == (2_000, 0, 0)

    StockRecord.objects.all().delete()
    job = create_job(content, export.file_name, job_type=StockRecordImportJob)
    wait_for(lambda: job.refresh_from_db() or job.state == JobState.PREVIEW_SUCCEEDED)
    actions.confirm_import(job)
    wait_for(
        lambda: (
            job.refresh_from_db()
            or job.state in (JobState.IMPORT_SUCCEEDED, JobState.IMPORT_FAILED)
        )
    )
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    after = sorted(StockRecord.objects.values_list("partner_sku", "price", "num_allocated"))
    assert after == before


def test_cancel_stops_a_running_export_and_leaves_no_file(celery_worker, s3_client):
    make_catalogue()
    add_many_records(200_000)
    bucket = settings.MODEL_DATA_EXCHANGE_S3_BUCKET_NAME
    prefix = f"{settings.MODEL_DATA_EXCHANGE_S3_BASE_PATH}/data_exchange/exports/"

    def stored() -> set[str]:
        listed = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return {item["Key"] for item in listed}

    def uploads() -> list:
        return s3_client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])

    before = stored()
    job = actions.start_export(StockRecordExportJob)
    wait_for(lambda: job.refresh_from_db() or job.progress_done > 0, timeout=60, interval=0.02)
    actions.cancel_export(job)
    assert job.state == ExportState.CANCELLED
    wait_for(lambda: not uploads() and stored() == before, timeout=30)
    job.refresh_from_db()
    assert job.state == ExportState.CANCELLED
    assert not job.file
    assert job.progress_done < 200_000  # stopped part way


def test_import_file_command_exit_status_in_a_process(tmp_path):
    make_catalogue()
    path = tmp_path / "bad.csv"
    path.write_text(
        "partner,product,partner_sku,price,num_in_stock,num_allocated\nNobody,P-1,A,1,1,0\n"
    )
    command = [sys.executable, "manage.py", "import_file", "demo.stockrecordimportjob", str(path)]
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings_integration", "DXT_WORKER_PROCESS": "1"}
    result = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1, result.stderr
    assert "1 invalid row" in result.stderr
