"""Files given by URL (fast layer): downloaded by the import into the field's storage.

Files are served by a thread on 127.0.0.1 (``file_server``); the field's storage is the test
settings' ``InMemoryStorage``, or a ``FileSystemStorage`` in a temporary directory.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import FileSystemStorage, default_storage

from data_exchange_tool.imports.files import RELATIVE_URL, stored_name
from data_exchange_tool.models import ImportJobPreviewRow, ImportJobRowError
from data_exchange_tool.states import JobState
from tests.helpers import csv_bytes
from tests.imports.test_relations import exported_text, imported, previewed
from tests.testapp.models import CatalogueItem, CatalogueItemExportJob, CatalogueItemImportJob

pytestmark = pytest.mark.django_db

HEADERS = ["sku", "name", "image"]
LAMP = b"\x89PNG lamp"
DESK = b"\x89PNG desk"


@pytest.fixture
def served(file_server):
    file_server.files.update({"lamp.png": LAMP, "desk.png": DESK})
    return file_server


@pytest.fixture
def on_disk(tmp_path, monkeypatch):
    """Store the images in a temporary MEDIA_ROOT, served under /media/."""
    storage = FileSystemStorage(location=tmp_path, base_url="/media/")
    monkeypatch.setattr(CatalogueItem._meta.get_field("image"), "storage", storage)
    return tmp_path


def test_a_file_is_stored_under_its_urls_name_with_the_urls_digest():
    first = stored_name("https://cdn.example.com/12/main.jpg")
    assert re.fullmatch(r"main-[0-9a-f]{8}\.jpg", first)
    assert stored_name("https://cdn.example.com/13/main.jpg") != first  # never one file for two
    assert stored_name("https://cdn.example.com/12/main.jpg") == first
    assert stored_name("https://cdn.example.com/").startswith("download-")


def image_of(sku: str):
    return CatalogueItem.objects.get(sku=sku).image


def test_an_image_is_downloaded_into_the_fields_storage(served, run_on_commit):
    rows = [["A-1", "Lamp", served.url("/files/lamp.png")], ["A-2", "Desk", ""]]
    job = imported(csv_bytes(rows, HEADERS), run_on_commit, CatalogueItemImportJob)
    assert job.new_rows == 2
    image = image_of("A-1")
    assert image.name.startswith("catalogue/lamp")  # upload_to, as FieldFile.save names it
    with default_storage.open(image.name) as stored:
        assert stored.read() == LAMP
    assert image_of("A-2").name == ""


def test_the_preview_checks_the_form_and_downloads_nothing(served, run_on_commit):
    rows = [["A-1", "Lamp", served.url("/files/lamp.png")], ["A-2", "Desk", "ftp://x/desk.png"]]
    job = previewed(csv_bytes(rows, HEADERS), run_on_commit, CatalogueItemImportJob)
    assert (job.new_rows, job.invalid_rows) == (1, 1)
    error = ImportJobRowError.objects.get(job=job)
    assert (error.column, error.message) == (
        "image",
        "Only http:// and https:// URLs can be downloaded.",
    )
    assert served.hosts == []


def test_a_failed_download_is_the_rows_error_and_a_forced_import_skips_the_row(
    served, run_on_commit
):
    missing = served.url("/files/missing.png")
    rows = [["A-1", "Lamp", served.url("/files/lamp.png")], ["A-2", "Desk", missing]]
    job = imported(
        csv_bytes(rows, HEADERS), run_on_commit, CatalogueItemImportJob, force_import=True
    )
    assert (job.new_rows, job.invalid_rows) == (1, 1)
    assert list(CatalogueItem.objects.values_list("sku", flat=True)) == ["A-1"]
    error = ImportJobRowError.objects.get(job=job, phase="import")
    assert (error.row_number, error.column) == (3, "image")
    assert error.message == f"Could not download {missing}: The server answered 404 Not Found."


def test_a_failed_download_rolls_an_import_back_and_deletes_the_files_it_stored(
    served, run_on_commit, on_disk
):
    rows = [
        ["A-1", "Lamp", served.url("/files/lamp.png")],
        ["A-2", "Desk", served.url("/files/missing.png")],
    ]
    job = previewed(csv_bytes(rows, HEADERS), run_on_commit, CatalogueItemImportJob)
    from data_exchange_tool import actions

    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_FAILED
    assert "row 3, column image: Could not download" in job.message
    assert not CatalogueItem.objects.exists()
    assert len(served.hosts) == 2  # both were downloaded (or tried)
    assert list(on_disk.rglob("*.png")) == []  # the lamp stored for row 2 is gone again


def test_a_private_address_is_refused_as_the_rows_error(served, run_on_commit, settings):
    settings.DATA_EXCHANGE_URL_ALLOWED_HOSTS = []
    rows = [["A-1", "Lamp", served.url("/files/lamp.png")]]
    job = imported(
        csv_bytes(rows, HEADERS), run_on_commit, CatalogueItemImportJob, force_import=True
    )
    assert job.invalid_rows == 1
    error = ImportJobRowError.objects.get(job=job, phase="import")
    assert "127.0.0.1 is a loopback address: downloads from internal addresses are refused" in (
        error.message
    )
    assert served.hosts == []


def test_an_exported_file_imports_back_without_a_download(served, run_on_commit, on_disk):
    url = served.url("/files/lamp.png")
    rows = [["A-1", "Lamp", url], ["A-2", "Desk", ""]]
    imported(csv_bytes(rows, HEADERS), run_on_commit, CatalogueItemImportJob)
    name = stored_name(url)
    assert (on_disk / "catalogue" / name).read_bytes() == LAMP
    text = exported_text(CatalogueItemExportJob)
    assert text.splitlines() == [
        "sku,name,tags,image",
        f"A-1,Lamp,,/media/catalogue/{name}",
        "A-2,Desk,,",
    ]
    again = previewed(text.encode(), run_on_commit, CatalogueItemImportJob)
    assert (again.unchanged_rows, again.invalid_rows) == (2, 0)
    assert len(served.hosts) == 1


def test_a_relative_url_is_only_the_rows_current_file(served, run_on_commit, on_disk):
    rows = [["A-1", "Lamp", served.url("/files/lamp.png")]]
    imported(csv_bytes(rows, HEADERS), run_on_commit, CatalogueItemImportJob)
    rows = [["A-1", "Lamp", "/media/catalogue/other.png"], ["A-9", "New", "/media/x.png"]]
    job = previewed(csv_bytes(rows, HEADERS), run_on_commit, CatalogueItemImportJob)
    errors = ImportJobRowError.objects.filter(job=job).order_by("row_number")
    assert [(e.row_number, e.column, e.message) for e in errors] == [
        (2, "image", RELATIVE_URL),
        (3, "image", RELATIVE_URL),
    ]


def test_a_new_url_replaces_the_file_and_an_empty_cell_removes_it(served, run_on_commit):
    lamp, desk = served.url("/files/lamp.png"), served.url("/files/desk.png")
    imported(csv_bytes([["A-1", "Lamp", lamp]], HEADERS), run_on_commit, CatalogueItemImportJob)
    old = image_of("A-1").url
    job = previewed(
        csv_bytes([["A-1", "Lamp", desk]], HEADERS), run_on_commit, CatalogueItemImportJob
    )
    assert job.updated_rows == 1
    change = ImportJobPreviewRow.objects.get(job=job).changes
    assert change == {"image": [old, desk]}  # the stored file's URL -> the new URL
    from data_exchange_tool import actions

    with run_on_commit():
        actions.confirm_import(job)
    name = image_of("A-1").name
    assert name.startswith("catalogue/desk")
    with default_storage.open(name) as stored:
        assert stored.read() == DESK
    imported(csv_bytes([["A-1", "Lamp", ""]], HEADERS), run_on_commit, CatalogueItemImportJob)
    assert image_of("A-1").name == ""


def test_downloads_run_at_once_within_a_batch_but_bounded(served, run_on_commit, settings):
    settings.DATA_EXCHANGE_URL_WORKERS = 3
    served.delay = 0.3
    rows = [[f"A-{i}", "Lamp", served.url(f"/wait/lamp.png?v={i}")] for i in range(7)]
    job = imported(csv_bytes(rows, HEADERS), run_on_commit, CatalogueItemImportJob)
    assert job.new_rows == 7
    assert 1 < served.most_at_once <= 3
    names = set(CatalogueItem.objects.values_list("image", flat=True))
    assert len(names) == 7  # each row its own file
