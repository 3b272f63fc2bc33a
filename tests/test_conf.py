"""Settings: ``DATA_EXCHANGE_*`` with defaults, cached and reloaded, and the storage they pick."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, InMemoryStorage
from django.test import override_settings

from data_exchange_tool.conf import DEFAULTS, app_settings
from data_exchange_tool.exceptions import FileFormatError
from data_exchange_tool.storage import build_storage, get_storage, job_storage, upload_to


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_setting_has_its_default(settings, name):
    if hasattr(settings, f"DATA_EXCHANGE_{name}"):
        delattr(settings, f"DATA_EXCHANGE_{name}")
    assert getattr(app_settings, name) == DEFAULTS[name]


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("PREVIEW_QUEUE", "data_exchange_shared_queue"),
        ("IMPORT_QUEUE", "data_exchange_shared_queue"),
        ("BATCH_SIZE", 1000),
        ("PREVIEW_KEEP_ROWS", 10_000),
        ("MAX_CELL_LENGTH", 32767),
        ("CSV_DELIMITERS", ",;\t|"),
        ("MAX_ATTEMPTS", 3),
        ("ADVISORY_LOCKS", True),
        ("HEARTBEAT_TIMEOUT", 900),
        ("XLSX_PROCESS_THRESHOLD", 4 * 1024 * 1024),
        ("MANY_SEPARATOR", ";"),
        ("URL_ALLOWED_HOSTS", ()),
        ("URL_MAX_SIZE", 20 * 1024 * 1024),
        ("URL_CONNECT_TIMEOUT", 5.0),
        ("URL_READ_TIMEOUT", 30.0),
        ("URL_DOWNLOAD_TIMEOUT", 120.0),
        ("URL_MAX_REDIRECTS", 3),
        ("URL_WORKERS", 4),
    ],
)
def test_documented_defaults(name, default):
    assert DEFAULTS[name] == default


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_setting_can_be_overridden(settings, name):
    value = object()
    setattr(settings, f"DATA_EXCHANGE_{name}", value)
    assert getattr(app_settings, name) is value


def test_values_are_cached_and_reloaded_on_setting_changed():
    with override_settings(DATA_EXCHANGE_BATCH_SIZE=10):
        assert app_settings.BATCH_SIZE == 10
        assert app_settings._cache["BATCH_SIZE"] == 10
        with override_settings(DATA_EXCHANGE_BATCH_SIZE=20):
            assert app_settings.BATCH_SIZE == 20
        assert app_settings.BATCH_SIZE == 10
    assert app_settings.BATCH_SIZE == 1000


def test_the_legacy_code_pages_start_with_the_most_common_and_are_all_codecs():
    import codecs

    encodings = DEFAULTS["CSV_ENCODINGS"]
    assert encodings[:4] == ("cp1252", "cp1250", "cp1251", "cp932")
    assert all(codecs.lookup(name) for name in encodings)
    assert "cp850" not in encodings  # it won German samples of two rows from cp1252


def test_the_detected_code_pages_follow_the_setting(settings):
    from data_exchange_tool.imports.readers import get_reader

    content = "name\nCafé 5 €\nGrüße\n".encode("cp1252")
    settings.DATA_EXCHANGE_CSV_ENCODINGS = ("cp1250", "cp1252")
    with get_reader("f.csv", io.BytesIO(content)) as reader:
        assert reader.encoding == "cp1250"  # the same text: the first listed wins
    settings.DATA_EXCHANGE_CSV_ENCODINGS = ("cp1251",)
    with pytest.raises(FileFormatError, match="not recognised"):
        get_reader("f.csv", io.BytesIO(content)).open()


def test_queues_come_from_the_test_settings():
    # tests/settings.py gives each queue its own name, so the tests can tell them apart.
    assert app_settings.PREVIEW_QUEUE != app_settings.IMPORT_QUEUE


@pytest.mark.parametrize("name", ["NOPE", "preview_queue", "S3_REGION"])
def test_unknown_settings_raise_attribute_error(name):
    with pytest.raises(AttributeError, match="Invalid data_exchange_tool setting"):
        getattr(app_settings, name)


def test_private_names_are_not_settings():
    with pytest.raises(AttributeError):
        app_settings._nothing  # noqa: B018


def test_seed_s3_settings_keep_their_names(settings):
    assert app_settings.setting_name("S3_BUCKET_NAME") == "MODEL_DATA_EXCHANGE_S3_BUCKET_NAME"
    assert app_settings.setting_name("S3_BASE_PATH") == "MODEL_DATA_EXCHANGE_S3_BASE_PATH"
    assert app_settings.setting_name("BATCH_SIZE") == "DATA_EXCHANGE_BATCH_SIZE"
    assert app_settings.S3_BUCKET_NAME is None
    assert app_settings.S3_BASE_PATH == ""
    settings.MODEL_DATA_EXCHANGE_S3_BUCKET_NAME = "imports"
    assert app_settings.S3_BUCKET_NAME == "imports"
    settings.DATA_EXCHANGE_S3_BUCKET_NAME = "ignored"
    assert app_settings.S3_BUCKET_NAME == "imports"


# --- the storage these settings choose -------------------------------------------------------


def test_storage_falls_back_to_default():
    storage = build_storage()
    assert isinstance(storage, InMemoryStorage)
    assert get_storage() is job_storage


def test_storage_alias_is_used_when_defined(settings, tmp_path):
    assert not job_storage.exists("probe.txt")  # resolved to the default (in memory)
    settings.STORAGES = {
        **settings.STORAGES,
        "data_exchange_tool": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    # Changing STORAGES resets the storage the job files use.
    job_storage.save("probe.txt", ContentFile(b"x"))
    assert (tmp_path / "probe.txt").read_bytes() == b"x"
    assert isinstance(build_storage(), FileSystemStorage)


def test_storage_setting_names_another_alias(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "uploads": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    settings.DATA_EXCHANGE_STORAGE = "uploads"
    assert isinstance(build_storage(), FileSystemStorage)


def test_s3_bucket_setting_selects_s3_storage_under_the_base_path(settings):
    settings.MODEL_DATA_EXCHANGE_S3_BUCKET_NAME = "my-import-bucket"
    settings.MODEL_DATA_EXCHANGE_S3_BASE_PATH = "imports"
    storage = build_storage()
    from storages.backends.s3 import S3Storage

    assert isinstance(storage, S3Storage)
    assert storage.bucket_name == "my-import-bucket"
    assert storage.location == "imports"


def test_upload_path_keeps_a_safe_name_per_type():
    class Job:
        job_type = "demo.stockrecordimportjob"

    path = upload_to(Job(), "../../etc/pass wd.csv")
    assert path.startswith("data_exchange/imports/demo_stockrecordimportjob/")
    assert path.endswith("/pass_wd.csv")
    assert ".." not in path


def test_every_setting_has_a_row_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [name for name in DEFAULTS if f"| `DATA_EXCHANGE_{name}` |" not in readme]
    assert missing == []
