"""
Fixtures of the real layer: moto's S3 bucket, a Celery worker process on this run's queues,
``workers`` (worker processes a test starts and kills, on queues of its own, on Redis or on
RabbitMQ in a virtual host of this run), and ``wait_for`` (poll with a deadline, never
sleep-then-assert).

A test that needs a service fails here when the service is missing: nothing is skipped.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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


def worker_command(
    queues: str, name: str, pool: str = "solo", prefetch: int | None = None
) -> list[str]:
    """Return the command line of a worker process consuming ``queues`` (comma-separated);
    ``prefetch``: its ``--prefetch-multiplier`` (Celery's default, 4, when None)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tests.celery",
        "worker",
        "-Q",
        queues,
        f"--pool={pool}",
        "--concurrency=1",
        "-l",
        "info",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
        *([f"--prefetch-multiplier={prefetch}"] if prefetch is not None else []),
    ]


def worker_env(**extra: str) -> dict[str, str]:
    """Return the environment of a worker process: this run's settings, its test database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_integration",
        "DXT_WORKER_PROCESS": "1",
        **extra,
    }


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
    log = open(ARTIFACTS / "worker.log", "ab")  # noqa: SIM115 - closed at teardown
    command = worker_command(queues, f"dxt-{settings.RUN_ID}")
    process = subprocess.Popen(command, env=worker_env(), stdout=log, stderr=subprocess.STDOUT)
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


def keep_tasks_here(monkeypatch: Any, *tasks: Any, send: Callable[..., Any] | None = None) -> None:
    """Replace how ``tasks`` are sent (by default: not at all), in every thread.

    A shared task resolves through Celery's *current* app, which is per thread: in a thread other
    than this one it is the default app (the example project's), whose copy of the task a patch on
    ``tasks.import_job`` never reaches. Every app's copy is patched.
    """
    from celery import _state

    for task in tasks:
        for app in _state._get_active_apps():
            copy = app.tasks.get(task.name)
            if copy is not None:
                monkeypatch.setattr(copy, "apply_async", send or (lambda *args, **kwargs: None))


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


# --- workers a test starts and kills ------------------------------------------------------------

#: Numbers the queues and workers of each test that starts its own.
_serial = itertools.count(1)


@dataclass
class Worker:
    """A worker process a test started: ``kill()`` sends SIGKILL, as the OOM killer does."""

    name: str
    process: subprocess.Popen
    log_path: Path
    killed_at: float | None = None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def ready(self) -> bool:
        """Return True once the worker consumes (after its ``worker_ready`` handlers ran)."""
        assert self.process.poll() is None, f"{self.name} exited; see {self.log_path}"
        return " ready." in self.log()

    def kill(self) -> float:
        """SIGKILL the worker and wait until it is gone; return when it was killed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.killed_at = time.monotonic()
        return self.killed_at

    def received(self, task_id: str) -> bool:
        """Return True once the worker's log says it received the task ``task_id``."""
        return f"[{task_id}] received" in self.log()

    def ran(self, task_id: str) -> bool:
        """Return True once the worker's log says the task ``task_id`` returned."""
        return f"[{task_id}] succeeded" in self.log()


@dataclass
class Workers:
    """Start worker processes on this test's own queues (``prefix``) and kill them at the end.

    The test's settings send tasks to those queues; each worker's settings name the same ones, so
    a worker that starts sends a dead job's task again where it is consumed.
    """

    prefix: str
    broker_url: str = ""
    started: list[Worker] = field(default_factory=list)

    @property
    def queues(self) -> list[str]:
        return [f"{self.prefix}_{kind}" for kind in ("preview", "import", "export")]

    def start(
        self, *, pool: str = "solo", wait: bool = True, prefetch: int | None = None
    ) -> Worker:
        """Start a worker on the test's queues; wait until it is ready unless ``wait`` is False.

        ``prefetch``: its ``--prefetch-multiplier`` (1: it reserves no task while it runs one).
        """
        name = f"{self.prefix}-w{len(self.started) + 1}"
        log_path = ARTIFACTS / f"{name}.log"
        env = worker_env(DXT_QUEUE_PREFIX=self.prefix, DXT_BROKER_URL=self.broker_url)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                worker_command(",".join(self.queues), name, pool, prefetch),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(name, process, log_path)
        self.started.append(worker)
        if wait:
            wait_for(worker.ready, timeout=90, interval=0.1)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGKILL)
                worker.process.wait(timeout=30)


def _workers(settings: Any, broker_url: str = "") -> Iterator[Workers]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pool = Workers(f"dxt_{settings.RUN_ID}_k{next(_serial)}", broker_url)
    (
        settings.DATA_EXCHANGE_PREVIEW_QUEUE,
        settings.DATA_EXCHANGE_IMPORT_QUEUE,
        settings.DATA_EXCHANGE_EXPORT_QUEUE,
    ) = pool.queues
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def workers(transactional_db, settings) -> Iterator[Workers]:
    """Worker processes on Redis, on this test's own queues; killed before the tables are
    flushed."""
    yield from _workers(settings)


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """A RabbitMQ virtual host of this run (deleted at the end), as a broker URL."""
    vhost = f"dxt_{settings.RUN_ID}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def rabbitmq_workers(transactional_db, settings, rabbitmq_url, monkeypatch) -> Iterator[Workers]:
    """Worker processes on RabbitMQ; the test's tasks are sent there too."""
    from celery import Celery

    from data_exchange_tool import tasks

    app = Celery("dxt-rabbitmq", broker=rabbitmq_url, set_as_current=False)
    for task in (tasks.preview_job, tasks.import_job, tasks.export_job):

        def send(args=None, kwargs=None, *, _name=task.name, **options):
            return app.send_task(_name, args=args, kwargs=kwargs, **options)

        keep_tasks_here(monkeypatch, task, send=send)
    try:
        yield from _workers(settings, rabbitmq_url)
    finally:
        app.close()
