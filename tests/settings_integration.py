"""
Settings of the real test layer (``scripts/integration.sh`` sets the environment).

PostgreSQL, Redis as broker and cache, files on S3 through moto's server, tasks run by a separate
Celery worker process. The worker process uses the same settings with ``DXT_WORKER_PROCESS=1``,
which points it straight at the test database pytest-django created. The workers the dead-worker
tests start and kill get their broker (``DXT_BROKER_URL``, e.g. RabbitMQ) and their queues
(``DXT_QUEUE_PREFIX``) from the environment, so a worker that starts sends a dead job's task again
to the queues it consumes.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

RUN_ID = os.environ["DXT_RUN_ID"]
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ['DXT_REDIS_DB']}"
TEST_DB_NAME = f"test_dxt_{RUN_ID}"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "USER": "postgres",
        "NAME": TEST_DB_NAME if os.environ.get("DXT_WORKER_PROCESS") else f"dxt_{RUN_ID}",
        "TEST": {"NAME": TEST_DB_NAME},
    }
}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}

CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_URL = os.environ.get("DXT_BROKER_URL") or REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues no other run uses: a leftover task of another run cannot reach this run's worker.
QUEUE_PREFIX = os.environ.get("DXT_QUEUE_PREFIX") or f"dxt_{RUN_ID}"
DATA_EXCHANGE_PREVIEW_QUEUE = f"{QUEUE_PREFIX}_preview"
DATA_EXCHANGE_IMPORT_QUEUE = f"{QUEUE_PREFIX}_import"
DATA_EXCHANGE_EXPORT_QUEUE = f"{QUEUE_PREFIX}_export"
DATA_EXCHANGE_PROGRESS_INTERVAL = 0.2

MOTO_ENDPOINT = f"http://127.0.0.1:{os.environ['DXT_MOTO_PORT']}"
MODEL_DATA_EXCHANGE_S3_BUCKET_NAME = f"dxt-{RUN_ID}"
MODEL_DATA_EXCHANGE_S3_BASE_PATH = "imports"
AWS_S3_ENDPOINT_URL = MOTO_ENDPOINT
AWS_ACCESS_KEY_ID = "testing"
AWS_SECRET_ACCESS_KEY = "testing"
AWS_S3_REGION_NAME = "us-east-1"
AWS_DEFAULT_ACL = None
