"""Many-to-many columns (fast layer): tags by natural key, memberships with a date.

A catalogue item's tags are listed in one cell (``red;blue``) and set to exactly those; an
artist's bands are listed with the date each was joined (``Walter-Hodges:1971-09-22``), and the
memberships become exactly those. Both export back to the cells they were imported from.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from data_exchange_tool import actions, tasks
from data_exchange_tool.imports.validation import BatchValidator
from data_exchange_tool.models import ImportJobPreviewRow, ImportJobRowError
from data_exchange_tool.states import JobState
from tests.helpers import create_job, csv_bytes, new_export, run_export
from tests.testapp.models import (
    ArtistExportJob,
    ArtistImportJob,
    Band,
    CatalogueItem,
    CatalogueItemExportJob,
    CatalogueItemImportJob,
    Membership,
    Tag,
)

pytestmark = pytest.mark.django_db

ITEM_HEADERS = ["sku", "name", "tags"]
ARTIST_HEADERS = ["name", "bands"]


@pytest.fixture
def tags(db):
    return {code: Tag.objects.create(code=code, label=code.title()) for code in TAG_CODES}


TAG_CODES = ("red", "blue", "green", "black")
BAND_TITLES = ("Walter-Hodges", "Ortiz-Hughes", "Nguyen-Baker")


@pytest.fixture
def bands(db):
    return {title: Band.objects.create(title=title) for title in BAND_TITLES}


def previewed(content: bytes, run_on_commit, job_type, **fields):
    with run_on_commit():
        job = create_job(content, "rows.csv", job_type, **fields)
    job.refresh_from_db()
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    return job


def imported(content: bytes, run_on_commit, job_type, **fields):
    job = previewed(content, run_on_commit, job_type, **fields)
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    return job


def tags_of(sku: str) -> set[str]:
    return set(CatalogueItem.objects.get(sku=sku).tags.values_list("code", flat=True))


def memberships() -> dict[tuple[str, str], datetime.date]:
    return {
        (m.artist.name, m.band.title): m.date_joined
        for m in Membership.objects.select_related("artist", "band")
    }


def exported_text(job_type) -> str:
    job = run_export(new_export(job_type, format="csv"))
    assert job.state == "EXPORT_SUCCEEDED", job.message
    with job.file.open("rb") as stored:
        return stored.read().decode("utf-8")


# --- many-to-many by natural key --------------------------------------------------------------


ITEMS = [["A-1", "Lamp", "red;blue"], ["A-2", "Desk", ""], ["A-3", "Chair", " green ; red "]]


def test_tags_are_imported_from_one_cell(tags, run_on_commit):
    job = imported(csv_bytes(ITEMS, ITEM_HEADERS), run_on_commit, CatalogueItemImportJob)
    assert job.new_rows == 3
    assert tags_of("A-1") == {"red", "blue"}
    assert tags_of("A-2") == set()
    assert tags_of("A-3") == {"green", "red"}


def test_an_update_sets_the_tags_to_exactly_the_listed_ones(tags, run_on_commit):
    imported(csv_bytes(ITEMS, ITEM_HEADERS), run_on_commit, CatalogueItemImportJob)
    rows = [["A-1", "Lamp", "blue;green"], ["A-2", "Desk", ""], ["A-3", "Chair", "red;green"]]
    job = previewed(csv_bytes(rows, ITEM_HEADERS), run_on_commit, CatalogueItemImportJob)
    # A-3 lists the same tags in another order, A-2 none again: unchanged.
    assert (job.new_rows, job.updated_rows, job.unchanged_rows) == (0, 1, 2)
    update = ImportJobPreviewRow.objects.get(job=job, action="update")
    assert update.row_number == 2
    assert update.changes == {"tags": [["red", "blue"], ["blue", "green"]]}
    with run_on_commit():
        actions.confirm_import(job)
    assert tags_of("A-1") == {"blue", "green"}
    assert tags_of("A-3") == {"green", "red"}


def test_an_empty_cell_clears_the_tags_and_a_missing_column_keeps_them(tags, run_on_commit):
    imported(csv_bytes(ITEMS, ITEM_HEADERS), run_on_commit, CatalogueItemImportJob)
    job = imported(
        csv_bytes([["A-1", "Lamp", ""]], ITEM_HEADERS), run_on_commit, CatalogueItemImportJob
    )
    assert job.updated_rows == 1
    assert tags_of("A-1") == set()
    job = imported(
        csv_bytes([["A-3", "Chair, renamed"]], ["sku", "name"]),
        run_on_commit,
        CatalogueItemImportJob,
    )
    assert job.updated_rows == 1
    assert tags_of("A-3") == {"green", "red"}


def test_unknown_tags_are_errors_naming_each_of_them(tags, run_on_commit):
    rows = [["A-1", "Lamp", "red;purple;pink;purple"]]
    job = previewed(csv_bytes(rows, ITEM_HEADERS), run_on_commit, CatalogueItemImportJob)
    assert job.invalid_rows == 1
    errors = ImportJobRowError.objects.filter(job=job).order_by("id")
    assert [(e.column, e.message) for e in errors] == [
        ("tags", "Object with code=purple does not exist."),
        ("tags", "Object with code=pink does not exist."),
    ]


def test_a_tag_listed_twice_counts_once(tags, run_on_commit):
    imported(
        csv_bytes([["A-1", "Lamp", "red;red;blue"]], ITEM_HEADERS),
        run_on_commit,
        CatalogueItemImportJob,
    )
    assert tags_of("A-1") == {"red", "blue"}


def test_a_forced_import_skips_rows_with_unknown_tags(tags, run_on_commit):
    rows = [["A-1", "Lamp", "red"], ["A-2", "Desk", "nope"]]
    job = imported(
        csv_bytes(rows, ITEM_HEADERS), run_on_commit, CatalogueItemImportJob, force_import=True
    )
    assert (job.new_rows, job.invalid_rows) == (1, 1)
    assert list(CatalogueItem.objects.values_list("sku", flat=True)) == ["A-1"]
    assert tags_of("A-1") == {"red"}


def test_the_separator_is_the_job_types_or_the_settings(tags, run_on_commit, monkeypatch, settings):
    monkeypatch.setattr(CatalogueItemImportJob, "many_separator", "|")
    imported(
        csv_bytes([["A-1", "Lamp", "red | blue"]], ITEM_HEADERS),
        run_on_commit,
        CatalogueItemImportJob,
    )
    assert tags_of("A-1") == {"red", "blue"}
    assert exported_text(CatalogueItemExportJob).splitlines()[1] == "A-1,Lamp,red|blue,"
    monkeypatch.setattr(CatalogueItemImportJob, "many_separator", None)
    settings.DATA_EXCHANGE_MANY_SEPARATOR = ","
    imported(
        csv_bytes([["A-1", "Lamp", "green,black"]], ITEM_HEADERS),
        run_on_commit,
        CatalogueItemImportJob,
    )
    assert tags_of("A-1") == {"green", "black"}


def test_tags_export_as_the_cell_they_were_imported_from(tags, run_on_commit):
    content = csv_bytes([[*row, ""] for row in ITEMS], [*ITEM_HEADERS, "image"])
    imported(content, run_on_commit, CatalogueItemImportJob)
    text = exported_text(CatalogueItemExportJob)
    assert text.splitlines() == [
        "sku,name,tags,image",
        "A-1,Lamp,red;blue,",
        "A-2,Desk,,",
        "A-3,Chair,green;red,",
    ]
    again = previewed(text.encode(), run_on_commit, CatalogueItemImportJob)
    assert (again.unchanged_rows, again.updated_rows, again.invalid_rows) == (3, 0, 0)


def test_a_tag_whose_label_is_the_natural_key_of_another_column_is_not_confused(
    tags, run_on_commit
):
    """The validator reads the through table for existing rows only: new rows ask nothing."""
    imported(csv_bytes(ITEMS, ITEM_HEADERS), run_on_commit, CatalogueItemImportJob)
    job = CatalogueItemImportJob()
    validator = BatchValidator(job, ITEM_HEADERS)
    with CaptureQueriesContext(connection) as queries:
        outcomes = validator.validate([(2, ["B-1", "New", "red"])])
    validator.close()
    assert [o.action for o in outcomes] == ["new"]
    assert not any("tags" in q["sql"] for q in queries)


# --- many-to-many with data on the through model ------------------------------------------


ARTISTS = [
    ["Ann", "Walter-Hodges:1971-09-22;Ortiz-Hughes:2018-02-02"],
    ["Bob", ""],
    ["Cy", "Nguyen-Baker:2001-05-30"],
]


def test_memberships_are_imported_with_their_dates(bands, run_on_commit):
    job = imported(csv_bytes(ARTISTS, ARTIST_HEADERS), run_on_commit, ArtistImportJob)
    assert job.new_rows == 3
    assert memberships() == {
        ("Ann", "Walter-Hodges"): datetime.date(1971, 9, 22),
        ("Ann", "Ortiz-Hughes"): datetime.date(2018, 2, 2),
        ("Cy", "Nguyen-Baker"): datetime.date(2001, 5, 30),
    }


def test_an_update_removes_adds_and_redates_memberships(bands, run_on_commit):
    imported(csv_bytes(ARTISTS, ARTIST_HEADERS), run_on_commit, ArtistImportJob)
    kept = Membership.objects.get(artist__name="Ann", band__title="Walter-Hodges").pk
    rows = [
        # Ortiz-Hughes removed, Nguyen-Baker added, Walter-Hodges' date changed.
        ["Ann", "Walter-Hodges:1972-01-01;Nguyen-Baker:2020-10-10"],
        ["Bob", ""],
        ["Cy", "Nguyen-Baker:2001-05-30"],
    ]
    job = previewed(csv_bytes(rows, ARTIST_HEADERS), run_on_commit, ArtistImportJob)
    assert (job.updated_rows, job.unchanged_rows) == (1, 2)
    update = ImportJobPreviewRow.objects.get(job=job, action="update")
    assert update.changes == {
        "bands": [
            ["Walter-Hodges:1971-09-22", "Ortiz-Hughes:2018-02-02"],
            ["Walter-Hodges:1972-01-01", "Nguyen-Baker:2020-10-10"],
        ]
    }
    with run_on_commit():
        actions.confirm_import(job)
    assert memberships() == {
        ("Ann", "Walter-Hodges"): datetime.date(1972, 1, 1),
        ("Ann", "Nguyen-Baker"): datetime.date(2020, 10, 10),
        ("Cy", "Nguyen-Baker"): datetime.date(2001, 5, 30),
    }
    # The kept membership was updated in place, not deleted and created again.
    assert Membership.objects.get(artist__name="Ann", band__title="Walter-Hodges").pk == kept


def test_a_bad_date_is_a_row_error_naming_the_item(bands, run_on_commit):
    rows = [
        ["Ann", "Walter-Hodges:1971-09-31;Ortiz-Hughes:2018-02-02"],
        ["Bob", "Nobody:2000-01-01"],
    ]
    job = previewed(csv_bytes(rows, ARTIST_HEADERS), run_on_commit, ArtistImportJob)
    assert job.invalid_rows == 2
    errors = ImportJobRowError.objects.filter(job=job).order_by("row_number")
    assert [(e.row_number, e.column, e.message) for e in errors] == [
        (
            2,
            "bands",
            "Walter-Hodges (date_joined): Date has wrong format. Use one of these formats "
            "instead: YYYY-MM-DD.",
        ),
        (3, "bands", "Object with title=Nobody does not exist."),
    ]


def test_memberships_export_as_the_cells_they_were_imported_from(bands, run_on_commit):
    imported(csv_bytes(ARTISTS, ARTIST_HEADERS), run_on_commit, ArtistImportJob)
    text = exported_text(ArtistExportJob)
    assert text.splitlines() == [
        "name,bands",
        "Ann,Walter-Hodges:1971-09-22;Ortiz-Hughes:2018-02-02",
        "Bob,",
        "Cy,Nguyen-Baker:2001-05-30",
    ]
    again = imported(text.encode(), run_on_commit, ArtistImportJob)
    assert (again.unchanged_rows, again.updated_rows) == (3, 0)
    assert exported_text(ArtistExportJob) == text


def test_the_export_reads_a_chunks_relations_with_one_query(bands, run_on_commit):
    rows = [[f"Artist {i}", f"{BAND_TITLES[i % 3]}:2000-01-0{1 + i % 9}"] for i in range(30)]
    imported(csv_bytes(rows, ARTIST_HEADERS), run_on_commit, ArtistImportJob)
    job = new_export(ArtistExportJob, format="csv")
    with CaptureQueriesContext(connection) as queries:
        run_export(job)
    reads = [q["sql"] for q in queries if "testapp_membership" in q["sql"]]
    assert len(reads) == 1, reads


# --- queries: a constant per batch, never per row or per item ----------------------------


def item_rows(count: int, step: int = 1) -> list[list[str]]:
    """Items with two tags each; ``step=2`` keeps one, drops one and adds one to every row."""
    return [
        [f"S-{i:06d}", f"Item {i}", f"{TAG_CODES[i % 4]};{TAG_CODES[(i + step) % 4]}"]
        for i in range(count)
    ]


def artist_rows(count: int, step: int = 1) -> list[list[str]]:
    """Artists in two bands each; ``step=2`` redates one membership, drops one, adds one."""
    return [
        [
            f"Artist {i:06d}",
            f"{BAND_TITLES[i % 3]}:20{step:02d}-01-01;{BAND_TITLES[(i + step) % 3]}:2000-01-01",
        ]
        for i in range(count)
    ]


def run_queries(job_type, headers, rows, count, monkeypatch) -> list[list[str]]:
    """Import ``count`` new rows, then change every one; return the SQL of the four runs."""
    job_type.get_target_model().objects.all().delete()
    monkeypatch.setattr(job_type, "batch_size", 20_000)
    runs = []
    for step in (1, 2):
        job = create_job(csv_bytes(rows(count, step), headers), "rows.csv", job_type)
        with CaptureQueriesContext(connection) as preview:
            tasks.preview_job.apply((job.pk,))
        actions.confirm_import(job)
        with CaptureQueriesContext(connection) as run:
            tasks.import_job.apply((job.pk,))
        job.refresh_from_db()
        assert job.state == JobState.IMPORT_SUCCEEDED, job.message
        assert (job.new_rows, job.updated_rows) == ((count, 0) if step == 1 else (0, count))
        runs += [[q["sql"] for q in preview], [q["sql"] for q in run]]
    return runs


def without_inserts(queries: list[str]) -> list[str]:
    """Leave out the bulk INSERTs (rows, through rows, the preview's rows) and the bulk UPDATE of
    the through data: SQLite splits them at 999 parameters, the backend's own split (PostgreSQL,
    in the real layer, writes a batch in one statement and the counts are exactly equal)."""
    return [
        sql
        for sql in queries
        if not sql.startswith(("INSERT INTO ", 'UPDATE "testapp_membership"'))
    ]


@pytest.mark.parametrize(
    ("job_type", "headers", "rows"),
    [
        (CatalogueItemImportJob, ITEM_HEADERS, item_rows),
        (ArtistImportJob, ARTIST_HEADERS, artist_rows),
    ],
    ids=["tags", "memberships"],
)
def test_relations_cost_the_same_queries_for_1000_and_10000_rows(
    tags, bands, monkeypatch, job_type, headers, rows
):
    small = run_queries(job_type, headers, rows, 1_000, monkeypatch)
    large = run_queries(job_type, headers, rows, 10_000, monkeypatch)
    through = job_type.get_target_model()._meta.get_field(headers[-1]).remote_field.through
    assert through.objects.count() == 20_000
    for few, many in zip(small, large, strict=True):
        assert len(without_inserts(many)) == len(without_inserts(few)), many
        assert len(without_inserts(many)) < 30
