"""The preview and import runs through the eager tasks (fast layer)."""

from __future__ import annotations

import gc
import types
import weakref
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from data_exchange_tool import actions, tasks
from data_exchange_tool.imports import pipeline
from data_exchange_tool.imports.pipeline import PreviewRun
from data_exchange_tool.locking import confirm_refusal
from data_exchange_tool.models import ImportJob, ImportJobPreviewRow, ImportJobRowError
from data_exchange_tool.states import JobState
from example_project.demo.models import Partner, Product, StockRecord, StockRecordImportJob
from tests.helpers import create_job, csv_bytes, stock_rows, xlsx_bytes
from tests.testapp.models import Tag, TagImportJob

pytestmark = pytest.mark.django_db


def previewed(content: bytes, run_on_commit, name: str = "stock.csv", **fields):
    with run_on_commit():
        job = create_job(content, name, **fields)
    job.refresh_from_db()
    return job


def test_preview_counts_new_rows_and_records_a_sample(catalogue, run_on_commit):
    job = previewed(csv_bytes(stock_rows(5)), run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.total_rows, job.new_rows, job.invalid_rows) == (5, 5, 0)
    assert job.file_encoding == "utf-8"
    assert ImportJobPreviewRow.objects.filter(job=job, action="new").count() == 5
    assert StockRecord.objects.count() == 0


def test_confirm_imports_every_row(catalogue, run_on_commit):
    job = previewed(csv_bytes(stock_rows(7)), run_on_commit)
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert job.new_rows == 7
    record = StockRecord.objects.get(partner_sku="SKU-000001")
    assert record.price == Decimal("1.50")
    assert record.partner.name == "ACME"


def test_preview_reports_updates_with_old_and_new_values(catalogue, run_on_commit):
    first = previewed(csv_bytes(stock_rows(3)), run_on_commit)
    with run_on_commit():
        actions.confirm_import(first)
    rows = stock_rows(3)
    rows[1][3] = "99.99"
    job = previewed(csv_bytes(rows), run_on_commit)
    assert (job.new_rows, job.updated_rows, job.unchanged_rows) == (0, 1, 2)
    sample = ImportJobPreviewRow.objects.get(job=job, action="update")
    assert sample.row_number == 3
    assert sample.changes == {"price": ["1.50", "99.99"]}


def test_invalid_rows_are_recorded_with_column_and_values(catalogue, run_on_commit):
    rows = stock_rows(4)
    rows[1][0] = "Nobody"
    rows[2][3] = "abc"
    rows[3][2] = rows[0][2]
    job = previewed(csv_bytes(rows), run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED
    assert job.invalid_rows == 3
    errors = list(ImportJobRowError.objects.filter(job=job).values_list("row_number", "column"))
    assert errors == [(3, "partner"), (4, "price"), (5, "partner_sku")]
    duplicate = ImportJobRowError.objects.get(job=job, row_number=5)
    assert "Duplicate of row 2" in duplicate.message
    assert duplicate.values["partner_sku"] == rows[0][2]
    assert confirm_refusal(job).startswith("The preview found 3 invalid rows")


def test_xlsx_is_read_like_csv(catalogue, run_on_commit):
    rows = [["ACME", "P-1", "00123", 4.5, 10, 1], ["Globex", "P-2", 77, 5.0, 3.0, 0]]
    job = previewed(xlsx_bytes(rows), run_on_commit, name="stock.xlsx")
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    with run_on_commit():
        actions.confirm_import(job)
    assert set(StockRecord.objects.values_list("partner_sku", flat=True)) == {"00123", "77"}


def test_base_manager_returns_job_types(catalogue, run_on_commit):
    job = previewed(csv_bytes(stock_rows(1)), run_on_commit)
    assert type(ImportJob.objects.get(pk=job.pk)) is StockRecordImportJob
    assert StockRecordImportJob.objects.count() == 1


def imported(job, run_on_commit):
    with run_on_commit():
        actions.confirm_import(job)
    job.refresh_from_db()
    return job


def stock_table():
    return sorted(
        StockRecord.objects.values_list(
            "partner__name", "product__sku", "partner_sku", "price", "num_in_stock", "num_allocated"
        )
    )


# --- force import and all-or-nothing ---------------------------------------------------------


def test_force_import_skips_invalid_rows_and_writes_the_rest(catalogue, run_on_commit):
    rows = stock_rows(6)
    rows[1][3] = "cheap"
    rows[4][0] = "Nobody"
    job = previewed(csv_bytes(rows), run_on_commit, force_import=True)
    assert (job.state, job.invalid_rows) == (JobState.PREVIEW_SUCCEEDED, 2)
    assert confirm_refusal(job) is None
    job = imported(job, run_on_commit)
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert (job.total_rows, job.new_rows, job.invalid_rows) == (6, 4, 2)
    skus = set(StockRecord.objects.values_list("partner_sku", flat=True))
    assert skus == {rows[i][2] for i in (0, 2, 3, 5)}
    import_errors = ImportJobRowError.objects.filter(job=job, phase="import")
    assert list(import_errors.values_list("row_number", "column")) == [(3, "price"), (6, "partner")]
    assert ImportJobRowError.objects.filter(job=job, phase="preview").count() == 2


def test_row_invalid_since_the_preview_fails_the_whole_import(
    catalogue, run_on_commit, monkeypatch
):
    first = previewed(csv_bytes(stock_rows(3)), run_on_commit)
    imported(first, run_on_commit)
    before = stock_table()
    rows = stock_rows(9)
    rows[0][3] = "7.77"  # an update in the first batch
    rows[7][1] = "P-NEW"  # valid at preview time only
    Product.objects.create(sku="P-NEW")
    job = previewed(csv_bytes(rows), run_on_commit)
    assert (job.state, job.invalid_rows, job.updated_rows) == (JobState.PREVIEW_SUCCEEDED, 0, 1)
    Product.objects.filter(sku="P-NEW").delete()
    monkeypatch.setattr(StockRecordImportJob, "batch_size", 2)
    job = imported(job, run_on_commit)
    assert job.state == JobState.IMPORT_FAILED
    assert job.message == (
        "1 invalid row(s) in a batch (row 9, column product: Object with sku=P-NEW does not "
        "exist.). Nothing was written; fix the file or force the import."
    )
    assert stock_table() == before
    [error] = ImportJobRowError.objects.filter(job=job, phase="import")
    assert (error.row_number, error.column) == (9, "product")
    assert error.values["product"] == "P-NEW"
    # The failed import released the lock.
    assert confirm_refusal(previewed(csv_bytes(stock_rows(1)), run_on_commit)) is None


def test_a_duplicate_created_since_the_preview_fails_the_import(catalogue, run_on_commit):
    job = previewed(csv_bytes(stock_rows(3)), run_on_commit)
    other = previewed(csv_bytes(stock_rows(1, start=2)), run_on_commit)
    imported(other, run_on_commit)  # SKU-000002 now exists: row 4 becomes an update
    job = imported(job, run_on_commit)
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert (job.new_rows, job.unchanged_rows) == (2, 1)
    assert StockRecord.objects.count() == 3


# --- hooks -----------------------------------------------------------------------------------


def test_hooks_are_called(catalogue, run_on_commit, monkeypatch):
    calls = []
    monkeypatch.setattr(
        StockRecordImportJob,
        "before_import_row",
        lambda self, row, number: calls.append(("before", number, row["partner_sku"])),
    )
    monkeypatch.setattr(
        StockRecordImportJob,
        "after_import_row",
        lambda self, instance, number, action: calls.append(
            ("after", number, instance.pk is not None, action)
        ),
    )
    monkeypatch.setattr(
        StockRecordImportJob,
        "after_import",
        lambda self, result: calls.append(("done", result.new, result.updated)),
    )
    first = previewed(csv_bytes(stock_rows(1)), run_on_commit)
    imported(first, run_on_commit)
    calls.clear()
    rows = stock_rows(2)
    rows[0][4] = 99
    job = imported(previewed(csv_bytes(rows), run_on_commit), run_on_commit)
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    preview_calls, import_calls = calls[:2], calls[2:]
    assert preview_calls == [("before", 2, "SKU-000000"), ("before", 3, "SKU-000001")]
    assert import_calls == [
        ("before", 2, "SKU-000000"),
        ("before", 3, "SKU-000001"),
        ("after", 3, True, "new"),
        ("after", 2, True, "update"),
        ("done", 1, 1),
    ]


def test_default_hooks_do_nothing(catalogue, run_on_commit):
    job = StockRecordImportJob()
    row = {"partner_sku": "A"}
    assert job.before_import_row(row, 2) is None
    assert row == {"partner_sku": "A"}
    assert job.after_import_row(StockRecord(), 2, "new") is None
    assert job.after_import(None) is None


# --- unique checks through a job (tests.testapp Tag.label) -----------------------------------


def test_unique_label_is_checked_against_the_table_and_the_file(catalogue, run_on_commit):
    Tag.objects.create(code="red", label="Red")
    rows = [
        ["blue", "Blue", "1"],
        ["crimson", "Red", "2"],  # taken in the table
        ["navy", "Blue", "3"],  # repeats row 2
        ["red", "Red", "4"],  # the owner keeps its label
        ["green", "Green", ""],
    ]
    job = previewed(
        csv_bytes(rows, ["Tag code", "label", "weight"]), run_on_commit, job_type=TagImportJob
    )
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert (job.new_rows, job.updated_rows, job.invalid_rows) == (2, 1, 2)
    errors = dict(ImportJobRowError.objects.filter(job=job).values_list("row_number", "message"))
    assert errors == {
        3: "tag with this label already exists.",
        4: "Duplicate of row 2: tag with this label already exists.",
    }
    ImportJob.objects.filter(pk=job.pk).update(force_import=True)
    job = imported(job, run_on_commit)
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert sorted(Tag.objects.values_list("code", "label", "weight")) == [
        ("blue", "Blue", 1),
        ("green", "Green", None),
        ("red", "Red", 4),
    ]


# --- files and columns -----------------------------------------------------------------------


def test_headers_match_ignoring_case_and_spaces_with_column_mapping(catalogue, run_on_commit):
    content = csv_bytes(
        [["a", "Alpha", "1"], ["b", "Beta", ""]], ["  TAG CODE ", "LABEL", "Weight"]
    )
    job = previewed(content, run_on_commit, job_type=TagImportJob)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    imported(job, run_on_commit)
    assert sorted(Tag.objects.values_list("code", "label", "weight")) == [
        ("a", "Alpha", 1),
        ("b", "Beta", None),
    ]


@pytest.mark.parametrize(
    ("headers", "missing"),
    [
        (["partner", "product", "price"], "partner_sku"),
        (["Partner SKU", "price"], "partner, product"),
    ],
)
def test_missing_required_column_fails_the_preview_naming_it(
    catalogue, run_on_commit, headers, missing
):
    job = previewed(csv_bytes([["x"] * len(headers)], headers), run_on_commit)
    assert job.state == JobState.PREVIEW_FAILED
    assert job.message.startswith(f"Missing required column(s): {missing}.")
    assert not ImportJobRowError.objects.filter(job=job).exists()


def test_empty_cells_through_a_job(catalogue, run_on_commit):
    rows = [["ACME", "P-1", "A", "", "4", ""], ["ACME", "P-1", "", "1.00", "4", "0"]]
    job = previewed(csv_bytes(rows), run_on_commit, force_import=True)
    assert (job.new_rows, job.invalid_rows) == (1, 1)
    error = ImportJobRowError.objects.get(job=job)
    assert (error.row_number, error.column, error.message) == (
        3,
        "partner_sku",
        "This field is required.",
    )
    imported(job, run_on_commit)
    record = StockRecord.objects.get()
    assert (record.price, record.num_in_stock, record.num_allocated) == (None, 4, 0)


def test_nul_byte_in_a_cell_is_a_row_error(catalogue, run_on_commit):
    rows = stock_rows(3)
    rows[1][2] = "SKU\x00BAD"
    job = previewed(csv_bytes(rows), run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    error = ImportJobRowError.objects.get(job=job)
    assert (error.row_number, error.column) == (3, "partner_sku")
    assert "NUL" in error.message
    assert error.values["partner_sku"] == "SKU\ufffdBAD"  # PostgreSQL stores no NUL


def test_header_only_file_previews_zero_rows(catalogue, run_on_commit):
    job = previewed(csv_bytes([]), run_on_commit)
    assert (job.state, job.total_rows) == (JobState.PREVIEW_SUCCEEDED, 0)


def test_updates_write_only_changed_rows(catalogue, run_on_commit):
    imported(previewed(csv_bytes(stock_rows(4)), run_on_commit), run_on_commit)
    rows = stock_rows(5)
    rows[2][5] = 2
    rows[2][4] = 40
    job = imported(previewed(csv_bytes(rows), run_on_commit), run_on_commit)
    assert (job.new_rows, job.updated_rows, job.unchanged_rows) == (1, 1, 3)
    record = StockRecord.objects.get(partner_sku="SKU-000002")
    assert (record.num_in_stock, record.num_allocated) == (40, 2)
    assert StockRecord.objects.count() == 5


# --- queries: a constant per batch, never per row --------------------------------------------

STOCK_TABLE_INSERT = 'INSERT INTO "demo_stockrecord"'


def task_queries(count: int, batch_size: int, monkeypatch) -> tuple[list[str], list[str]]:
    """Preview and import ``count`` new stock records; return the SQL of each task."""
    StockRecord.objects.all().delete()
    monkeypatch.setattr(StockRecordImportJob, "batch_size", batch_size)
    job = create_job(csv_bytes(stock_rows(count, partner="Globex")))  # not committed: not sent
    with CaptureQueriesContext(connection) as preview:
        tasks.preview_job.apply((job.pk,))
    job.refresh_from_db()
    assert (job.state, job.new_rows) == (JobState.PREVIEW_SUCCEEDED, count), job.message
    actions.confirm_import(job)
    with CaptureQueriesContext(connection) as run:
        tasks.import_job.apply((job.pk,))
    job.refresh_from_db()
    assert (job.state, job.new_rows) == (JobState.IMPORT_SUCCEEDED, count), job.message
    assert StockRecord.objects.count() == count
    return [q["sql"] for q in preview], [q["sql"] for q in run]


def backend_insert_statements(count: int) -> int:
    """Return how many INSERTs Django's ``bulk_create`` splits ``count`` stock records into.

    SQLite binds at most 999 parameters per statement, so Django itself splits a bulk insert
    there (PostgreSQL inserts any batch in one statement): that split is the backend's, the same
    for any design that writes in bulk.
    """
    fields = [f for f in StockRecord._meta.concrete_fields if not f.primary_key]
    per_statement = connection.ops.bulk_batch_size(fields, [None] * count)
    return -(-count // per_statement)


def without_table_inserts(queries: list[str]) -> list[str]:
    return [sql for sql in queries if not sql.startswith(STOCK_TABLE_INSERT)]


def test_one_batch_costs_the_same_queries_for_1000_and_10000_rows(catalogue, monkeypatch):
    preview_1k, import_1k = task_queries(1_000, 20_000, monkeypatch)
    preview_10k, import_10k = task_queries(10_000, 20_000, monkeypatch)
    assert len(preview_10k) == len(preview_1k), preview_10k
    assert len(without_table_inserts(import_10k)) == len(without_table_inserts(import_1k))
    for count, queries in ((1_000, import_1k), (10_000, import_10k)):
        inserts = len(queries) - len(without_table_inserts(queries))
        assert inserts == backend_insert_statements(count)
    # A handful of queries in all, whatever the size: nothing per row.
    assert len(preview_10k) < 25
    assert len(without_table_inserts(import_10k)) < 25


def test_queries_grow_by_a_constant_per_batch(catalogue, monkeypatch):
    preview, imports = {}, {}
    for count in (1_000, 2_000, 10_000):
        preview[count], imports[count] = map(len, task_queries(count, 1_000, monkeypatch))
    for queries in (preview, imports):
        per_batch = queries[2_000] - queries[1_000]
        assert queries[10_000] - queries[1_000] == 9 * per_batch, queries
    assert preview[2_000] - preview[1_000] <= 6
    assert imports[2_000] - imports[1_000] <= 6 + backend_insert_statements(1_000)


class Cycle:
    """An object that refers to itself: freed by the garbage collector only."""

    def __init__(self) -> None:
        self.itself = self


@pytest.fixture
def collector_off():
    """The automatic garbage collector off: only an explicit collection frees a cycle."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()
    gc.collect()


def test_a_run_frees_the_garbage_it_finds_before_freezing(collector_off):
    # Frozen garbage is never collected: a worker would keep what its earlier task left (#15).
    left = weakref.ref(Cycle())
    assert left() is not None
    frozen = pipeline._freeze_old_objects()
    try:
        assert frozen
        assert left() is None
    finally:
        gc.unfreeze()


def test_a_preview_leaves_no_cycle_holding_the_objects_it_named(
    catalogue, run_on_commit, collector_off
):
    # What the run leaves in cycles waits for a full collection, which a worker running task
    # after task may not get to between a run's end and the next run's freeze (#15).
    job = previewed(csv_bytes(stock_rows(30)), run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        named = [o for o in gc.garbage if isinstance(o, Partner | Product)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert named == []


def in_cycles(kind: type) -> list:
    """The objects of ``kind`` that only a collection would free (the collector off)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return [o for o in gc.garbage if isinstance(o, kind)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_invalid_rows_leave_no_cycle_holding_a_batch(catalogue, run_on_commit, collector_off):
    # A cell's exception kept with its traceback held the frames that read the batch, and so
    # every row of it, in a cycle: 190 MB of garbage in a 100,000-row preview, freed only by
    # collections that took a sixth of its time.
    from data_exchange_tool.imports.outcomes import RowOutcome

    rows = stock_rows(40)
    rows[3][0] = "Nobody"  # an unknown partner
    rows[7][1] = "P-404"  # an unknown product
    rows[11][3] = "twelve"  # not a number
    rows[15][3] = "1e400"  # a number out of any range
    rows[19][4] = "-"  # not an integer
    rows[23][4] = "99999999999999999999"  # an integer too large
    rows[27][2] = ""  # a required cell left blank
    rows[31][2] = "x" * 500  # longer than the column
    job = previewed(csv_bytes(rows), run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert job.counts["invalid"] == 8, job.counts
    assert in_cycles(RowOutcome) == []
    assert in_cycles(types.FrameType) == []  # Django's errors list themselves: no traceback

    with run_on_commit():
        actions.confirm_import(job, force=True)
    job.refresh_from_db()
    assert job.state == JobState.IMPORT_SUCCEEDED, job.message
    assert StockRecord.objects.count() == 32
    assert in_cycles(RowOutcome) == []
    assert in_cycles(types.FrameType) == []  # Django's errors list themselves: no traceback


def test_a_run_collects_garbage_less_often_and_puts_the_thresholds_back(
    catalogue, run_on_commit, monkeypatch
):
    before = gc.get_threshold()
    seen = []
    handle = PreviewRun.handle

    def spy(self, outcomes):
        seen.append(gc.get_threshold())
        return handle(self, outcomes)

    monkeypatch.setattr(PreviewRun, "handle", spy)
    job = previewed(csv_bytes(stock_rows(5)), run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert seen == [(pipeline.RUN_COLLECT_EVERY, *before[1:])]
    assert gc.get_threshold() == before


@pytest.mark.parametrize(("freeze_bytes", "freezes"), [(0, True), (1 << 30, False)])
def test_only_a_large_file_s_run_freezes(
    catalogue, run_on_commit, monkeypatch, freeze_bytes, freezes
):
    # The freeze costs a full collection first: a small file's run saves less than that.
    monkeypatch.setattr(pipeline, "FREEZE_BYTES", freeze_bytes)
    frozen_while_handled = []
    handle = PreviewRun.handle

    def spy(self, outcomes):
        frozen_while_handled.append(gc.get_freeze_count() > 0)
        return handle(self, outcomes)

    monkeypatch.setattr(PreviewRun, "handle", spy)
    job = previewed(csv_bytes(stock_rows(5)), run_on_commit)
    assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
    assert frozen_while_handled == [freezes]
    assert gc.get_freeze_count() == 0


def test_an_import_reading_ahead_sees_the_labels_earlier_batches_wrote(
    catalogue, run_on_commit, settings
):
    """A batch read ahead is validated before the batch before it is written: a unique set
    other than the natural key must then not read ahead (the table's holders of a label change
    as the import writes). With the overlap on or off, the import answers each row alike."""
    rows = [
        ["b", "Z", ""],  # batch 1: b gives up "Y"
        ["c", "C", ""],
        ["d", "D", ""],
        ["a", "Y", ""],  # batch 2: a takes "Y", given up by the batch before
        ["e", "W", ""],
        ["f", "F", ""],
        ["g", "W", ""],  # batch 3: repeats batch 2's "W"
    ]

    def run(overlap: bool) -> tuple:
        settings.DATA_EXCHANGE_OVERLAP_WRITES = overlap
        Tag.objects.all().delete()
        Tag.objects.create(code="a", label="X")
        Tag.objects.create(code="b", label="Y")
        job = previewed(
            csv_bytes(rows, ["Tag code", "label", "weight"]),
            run_on_commit,
            job_type=TagImportJob,
            force_import=True,
        )
        assert job.state == JobState.PREVIEW_SUCCEEDED, job.message
        job = imported(job, run_on_commit)
        assert job.state == JobState.IMPORT_SUCCEEDED, job.message
        errors = sorted(
            ImportJobRowError.objects.filter(job=job).values_list("row_number", "message")
        )
        return (
            (job.new_rows, job.updated_rows, job.invalid_rows),
            errors,
            sorted(Tag.objects.values_list("code", "label")),
        )

    in_line = run(False)
    assert ("a", "Y") in in_line[2]  # "Y" was free when batch 2 was validated
    assert run(True) == in_line


@pytest.mark.django_db
def test_the_stored_values_of_a_row_are_its_cells_by_header() -> None:
    """``row_values``: the common row in one call, any other as before (short or long rows,
    blank or repeated headers, NUL as U+FFFD)."""
    from data_exchange_tool.imports.pipeline import Run
    from data_exchange_tool.imports.validation import BatchValidator
    from example_project.demo.models import StockRecordImportJob
    from tests.helpers import STOCK_HEADERS

    def expected(headers: list[str], cells: list[str]) -> dict[str, str]:
        values = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(headers) if h}
        return {h: t.replace("\x00", "\ufffd") for h, t in values.items()}

    for headers in [list(STOCK_HEADERS), [*STOCK_HEADERS, ""], [*STOCK_HEADERS, "price"]]:
        run = Run.__new__(Run)
        validator = BatchValidator(StockRecordImportJob(), headers)
        validator.close()  # its keys' on-disk store
        run.columns = validator.columns
        width = len(headers)
        for cells in [
            [f"c{i}" for i in range(width)],
            [f"c{i}" for i in range(width - 2)],
            [f"c{i}" for i in range(width + 2)],
            ["a\x00b", *[f"c{i}" for i in range(width - 1)]],
        ]:
            assert run.row_values(cells) == expected(headers, cells), (headers, cells)
