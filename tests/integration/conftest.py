"""
Fixtures of the real layer: moto's S3 bucket, a Celery worker process on this run's two queues,
and ``wait_for`` (poll with a deadline, never sleep-then-assert).

A test that needs a service fails here when the service is missing: nothing is skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from tests.celery import app as celery_app

ARTIFACTS = Path(os.environ.get("DXT_ARTIFACTS", ".artifacts/local"))


def wait_for(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.1) -> Any:
    """Return ``predicate()``'s first truthy value, polling until ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


@pytest.fixture(scope="session", autouse=True)
def s3_bucket() -> str:
    """Create this run's bucket on moto's server (fails when the server is not running)."""
    client = boto3.client(
        "s3",
        endpoint_url=settings.AWS_S3_ENDPOINT_URL,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    bucket = settings.MODEL_DATA_EXCHANGE_S3_BUCKET_NAME
    client.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(scope="session")
def s3_client():
    return boto3.client(
        "s3",
        endpoint_url=settings.AWS_S3_ENDPOINT_URL,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[subprocess.Popen]:
    """A Celery worker process consuming this run's preview and import queues."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    queues = ",".join(
        [
            settings.DATA_EXCHANGE_PREVIEW_QUEUE,
            settings.DATA_EXCHANGE_IMPORT_QUEUE,
            settings.DATA_EXCHANGE_EXPORT_QUEUE,
        ]
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_integration",
        "DXT_WORKER_PROCESS": "1",
    }
    log = open(ARTIFACTS / "worker.log", "ab")  # noqa: SIM115 - closed at teardown
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tests.celery",
        "worker",
        "-Q",
        queues,
        "--pool=solo",
        "--concurrency=1",
        "-l",
        "info",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"dxt-{settings.RUN_ID}@%h",
    ]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: process.poll() is not None or celery_app.control.ping(timeout=0.5),
            timeout=60,
            interval=0.2,
        )
        assert process.poll() is None, f"the worker exited; see {ARTIFACTS / 'worker.log'}"
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(autouse=True)
def _fresh_content_types():
    """Transactional tests flush the tables; forget content type ids cached before."""
    ContentType.objects.clear_cache()


def worker_idle() -> bool:
    """Return True when no job waits for the worker and the worker runs no task."""
    from data_exchange_tool.models import ImportJob
    from data_exchange_tool.states import JobState

    running = Q(state__in=(JobState.PREVIEW_IN_PROGRESS, JobState.IMPORT_IN_PROGRESS))
    waiting = Q(state=JobState.CREATED) & ~Q(file="")
    if ImportJob.objects.filter(running | waiting).exists():
        return False
    active = celery_app.control.inspect(timeout=0.5).active() or {}
    return not any(active.values())


@pytest.fixture(autouse=True)
def _worker_idle_after_test(request):
    """Let the worker finish before the tables are flushed (a flush racing it deadlocks)."""
    yield
    if "celery_worker" in request.fixturenames:
        wait_for(worker_idle, timeout=60, interval=0.2)
