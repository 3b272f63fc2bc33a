"""
Settings of the example project.

By default everything runs on one machine with nothing installed: SQLite, files on disk, and the
Celery tasks run by a worker thread inside the web process (so the progress bar really moves).
Environment variables switch on the production parts:

- ``DATABASE_URL``-like parts: ``DXT_PG_NAME`` (with ``DXT_PG_HOST``, ``DXT_PG_PORT``,
  ``DXT_PG_USER``, ``DXT_PG_PASSWORD``) selects PostgreSQL;
- ``CELERY_BROKER_URL`` (``redis://...``) sends tasks to real workers instead of the thread;
- ``DXT_S3_BUCKET`` (with ``DXT_S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...) stores files on S3.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("DXT_DATA_DIR", BASE_DIR.parent / ".demo"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "data_exchange_tool",
    "example_project.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Pages in the browser's language: the admin of data_exchange_tool ships Spanish.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "example_project.wsgi.application"

if os.environ.get("DXT_PG_NAME"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["DXT_PG_NAME"],
            "HOST": os.environ.get("DXT_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("DXT_PG_PORT", "5432"),
            "USER": os.environ.get("DXT_PG_USER", "postgres"),
            "PASSWORD": os.environ.get("DXT_PG_PASSWORD", ""),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "demo.sqlite3",
            # The in-process worker thread writes too: wait for the lock instead of failing.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    }

MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if os.environ.get("DXT_S3_BUCKET"):
    MODEL_DATA_EXCHANGE_S3_BUCKET_NAME = os.environ["DXT_S3_BUCKET"]
    MODEL_DATA_EXCHANGE_S3_BASE_PATH = os.environ.get("DXT_S3_BASE_PATH", "imports")
    AWS_S3_ENDPOINT_URL = os.environ.get("DXT_S3_ENDPOINT_URL")
    AWS_S3_REGION_NAME = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("DXT_REDIS_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["DXT_REDIS_CACHE_URL"],
        }
    }

# Celery: a real broker when CELERY_BROKER_URL is set, else an in-process worker thread.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", None)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
DXT_INPROCESS_WORKER = CELERY_BROKER_URL == "memory://"

SHARED_QUEUE = "data_exchange_shared_queue"
DATA_EXCHANGE_PREVIEW_QUEUE = os.environ.get("DATA_EXCHANGE_PREVIEW_QUEUE", SHARED_QUEUE)
DATA_EXCHANGE_IMPORT_QUEUE = os.environ.get("DATA_EXCHANGE_IMPORT_QUEUE", SHARED_QUEUE)
DATA_EXCHANGE_EXPORT_QUEUE = os.environ.get("DATA_EXCHANGE_EXPORT_QUEUE", SHARED_QUEUE)

# Report progress often, so the demo's small files still show the bar moving.
DATA_EXCHANGE_PROGRESS_INTERVAL = 0.25
DATA_EXCHANGE_BATCH_SIZE = int(os.environ.get("DATA_EXCHANGE_BATCH_SIZE", "250"))

# The API (data_exchange_tool.api): OpenAPI schema at /api/schema/, Swagger UI at /api/docs/,
# served from drf-spectacular-sidecar (no CDN).
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
SPECTACULAR_SETTINGS = {
    "TITLE": "data_exchange_tool example project",
    "DESCRIPTION": "Upload, preview, confirm and follow import jobs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"data_exchange_tool": {"handlers": ["console"], "level": "INFO"}},
}
