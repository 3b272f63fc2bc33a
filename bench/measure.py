"""
One measurement of the benchmark, in a process of its own so its peak RSS is its own.

``python -m bench.measure KIND FILE [--job PK] [--profile OUT]`` prints one JSON line: rows,
seconds, rows per second, CPU seconds of this process (every thread) and of its PostgreSQL
backend, peak and starting RSS, the queries run on the default connection (counted with
``connection.execute_wrapper``, which sees the library's ``COPY`` statements too), and the CPU
time and peak RSS of the child processes (a large XLSX sheet is read by one).
Kinds, insert mode (the table starts empty):

- ``library-preview``: the preview task of a new job, called in-process (no worker);
- ``library-import``: the import task of that job (``--job``), forced so invalid rows are skipped;
- ``floor-validate``: the hand-written floor, validation only: one ``ImportStockRecordSerializer``
  (a ``ModelSerializer`` with two ``SlugRelatedField``s) reused for every row
  (``run_validation``), foreign keys from a dict, no query per row;
- ``floor-import``: the same, plus ``bulk_create`` in batches of 1,000;
- ``copy``: PostgreSQL ``COPY`` of the same rows (foreign keys from a dict, invalid rows skipped);
- ``library-export``: an export job of every stock record (after ``library-import``), in the
  file's format, its task run in-process (``tasks.export_job``);
- ``tags-preview``, ``tags-import``, ``tags-export``: the same three on the many-to-many file
  (``stock_tags_<rows>.csv``: two tags a row) through ``TaggedStockRecordImportJob`` /
  ``TaggedStockRecordExportJob``; the import writes the tags' through rows.
- ``tags-reupload-preview`` and ``tags-reupload-import`` (``--job``: that preview's job): the
  many-to-many file uploaded again after ``tags-import``, every row and its tags stored (each
  batch reads the stored rows' tags to compare them; nothing changes).
- ``library-preview-updates``: a preview in which every row is an update (after
  ``library-import``: every stored price is changed first).

Update mode: before the timed part, the table is loaded with every valid row of the file, every
other one with another price (``load_update_mode``), so every row exists and about half change:

- ``library-update-preview`` and ``library-update-import`` (``--job``: that preview's job);
- ``floor-upsert``: the floor's validation + ``bulk_create(update_conflicts=True)`` by 1,000
  (``INSERT ... ON CONFLICT DO UPDATE``);
- ``copy-upsert``: ``COPY`` of the file's rows into a temporary table, then one ``INSERT ...
  SELECT ... ON CONFLICT DO UPDATE ... WHERE IS DISTINCT FROM`` into the table.

``DXT_BENCH_OVERLAP_WRITES=0`` (read by ``bench.settings``) runs the library's imports with
``DATA_EXCHANGE_OVERLAP_WRITES = False`` (written in line; the default overlaps).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from rest_framework import serializers  # noqa: E402
from rest_framework.validators import UniqueTogetherValidator  # noqa: E402

from data_exchange_tool import actions  # noqa: E402
from data_exchange_tool.models import ImportJob  # noqa: E402
from data_exchange_tool.states import JobState  # noqa: E402
from data_exchange_tool.tasks import import_job, preview_job  # noqa: E402
from example_project.demo.models import (  # noqa: E402
    Partner,
    Product,
    StockRecord,
    StockRecordImportJob,
    TaggedStockRecordImportJob,
)
from example_project.demo.serializers import ImportStockRecordSerializer  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent / "data"
FLOOR_BATCH = 1000


def rss_mb() -> float:
    """Return the current resident set size in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> bool:
    """Start this process's high-water mark (``VmHWM``) afresh, so the peak is the timed part's
    and not the setup's (the update mode's table is loaded by reading the file in this process
    first: an XLSX file read by openpyxl peaked above the library's own run). False where
    Linux's ``clear_refs`` cannot be written."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Return the peak resident set size of this process in MB (since ``reset_peak_rss``)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ChildPeak:
    """Follow the peak RSS of this process's children (an XLSX sheet's reading process).

    ``getrusage(RUSAGE_CHILDREN)`` would count the parent's memory a child had before its
    ``exec``, so each child's own high-water mark (``VmHWM``, which ``exec`` starts afresh) is
    sampled from ``/proc`` while it runs.
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        own = Path("/proc/self/cmdline").read_bytes()
        while not self._stop.wait(self.interval):
            for pid in self._children():
                with contextlib.suppress(OSError):  # a child not yet exec'd counts our memory
                    if Path(f"/proc/{pid}/cmdline").read_bytes() == own:
                        continue
                with (
                    contextlib.suppress(OSError, ValueError),
                    open(f"/proc/{pid}/status") as status,
                ):
                    for line in status:
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    @staticmethod
    def _children() -> list[str]:
        pids: list[str] = []
        for path in Path("/proc/self/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pids += path.read_text().split()
        return pids


class Counter:
    """Count the queries run on the default connection."""

    def __init__(self) -> None:
        self.queries = 0

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.queries += 1
        return execute(sql, params, many, context)


def truncate_target() -> None:
    """Empty the stock records and their tags, so each writer starts from the same tables."""
    tags = StockRecord.tags.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tags}, {StockRecord._meta.db_table} RESTART IDENTITY")


# --- the library ---------------------------------------------------------------------------


def library_preview(
    path: Path,
    job_pk: int | None,
    job_type: type = StockRecordImportJob,
    *,
    truncate: bool = True,
) -> tuple[dict[str, Any], Callable[[], None]]:
    """Return facts and the timed call: the preview task of a new forced job."""
    if truncate:
        truncate_target()
    job = job_type.objects.create(
        file=path.name, file_name=path.name, file_size=path.stat().st_size, force_import=True
    )
    facts: dict[str, Any] = {"job": job.pk}

    def run() -> None:
        preview_job(job.pk)

    def check() -> None:
        job.refresh_from_db()
        if job.state != JobState.PREVIEW_SUCCEEDED:
            raise SystemExit(f"preview failed: {job.state} {job.message}")
        facts.update(rows=job.total_rows, invalid=job.invalid_rows, written=0)

    facts["_check"] = check
    return facts, run


def library_preview_updates(
    path: Path, job_pk: int | None
) -> tuple[dict[str, Any], Callable[[], None]]:
    """Return facts and the timed call: a preview in which every row is an update.

    Runs after ``library-import`` wrote the file's rows: each stored price is changed first, so
    the preview finds a change in every row and keeps ``DATA_EXCHANGE_PREVIEW_KEEP_ROWS`` of
    them (with their old -> new values) for its table.
    """
    from django.db.models import F

    changed = StockRecord.objects.update(price=F("price") + 1)
    if not changed:
        raise SystemExit("library-preview-updates needs the rows library-import wrote")
    job = StockRecordImportJob.objects.create(
        file=path.name, file_name=path.name, file_size=path.stat().st_size, force_import=True
    )
    facts: dict[str, Any] = {"job": job.pk}

    def run() -> None:
        preview_job(job.pk)

    def check() -> None:
        job.refresh_from_db()
        if job.state != JobState.PREVIEW_SUCCEEDED:
            raise SystemExit(f"preview failed: {job.state} {job.message}")
        kept = job.preview_rows.filter(action="update").count()
        facts.update(rows=job.total_rows, invalid=job.invalid_rows, written=0, kept=kept)

    facts["_check"] = check
    return facts, run


def library_import(
    path: Path, job_pk: int | None, *, truncate: bool = True
) -> tuple[dict[str, Any], Callable[[], None]]:
    """Return facts and the timed call: the import task of the previewed job ``job_pk``."""
    if truncate:
        truncate_target()
    job = ImportJob.objects.get(pk=job_pk)
    actions.confirm_import(job)
    facts: dict[str, Any] = {"job": job.pk}

    def run() -> None:
        import_job(job.pk)

    def check() -> None:
        job.refresh_from_db()
        if job.state != JobState.IMPORT_SUCCEEDED:
            raise SystemExit(f"import failed: {job.state} {job.message}")
        written = StockRecord.objects.count()
        through = StockRecord.tags.through.objects.count()
        facts.update(
            rows=job.total_rows, invalid=job.invalid_rows, written=written, through=through
        )

    facts["_check"] = check
    return facts, run


def library_export(
    path: Path, job_pk: int | None, job_type: Any = None
) -> tuple[dict[str, Any], Callable[[], None]]:
    """Return facts and the timed call: an export of every stock record the import wrote,
    in the format of ``path`` (run right after ``library-import`` on the same file)."""
    from data_exchange_tool.tasks import export_job
    from example_project.demo.models import StockRecordExportJob

    job = (job_type or StockRecordExportJob)(format=path.suffix.lstrip("."))
    job.save()  # created, not started: the timed call runs its task in this process
    facts: dict[str, Any] = {"job": job.pk, "invalid": 0}

    def run() -> None:
        export_job(job.pk)

    def check() -> None:
        job.refresh_from_db()
        if job.state != "EXPORT_SUCCEEDED":
            raise SystemExit(f"export failed: {job.state} {job.message}")
        facts.update(rows=job.total_rows, written=job.total_rows, file_mb=job.file_size / 1e6)
        job.file.delete(save=False)

    facts["_check"] = check
    return facts, run


# --- the references ------------------------------------------------------------------------


def read_rows(path: Path) -> Iterator[list[Any]]:
    """Yield the header then every row: csv.reader, or openpyxl read-only values."""
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as stream:
            yield from csv.reader(stream)
        return
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield ["" if v is None else v for v in values]
    finally:
        workbook.close()


def _dict_field(serializer_field: serializers.Field, objects: dict[str, Any], slug: str) -> None:
    """Make a related field take its objects from ``objects`` instead of one query per row."""

    def to_internal_value(data: Any) -> Any:
        obj = objects.get(data)
        if obj is None:
            serializer_field.fail("does_not_exist", slug_name=slug, value=str(data))
        return obj

    serializer_field.to_internal_value = to_internal_value


def floor_serializer() -> serializers.Serializer:
    """Return the demo's row serializer with no query per row (foreign keys from dicts)."""
    serializer = ImportStockRecordSerializer()
    fields = serializer.fields
    _dict_field(fields["partner"], {p.name: p for p in Partner.objects.all()}, "name")
    _dict_field(fields["product"], {p.sku: p for p in Product.objects.all()}, "sku")
    # The unique-together validator queries once per row; the floor leaves it out.
    serializer.validators = [
        v for v in serializer.validators if not isinstance(v, UniqueTogetherValidator)
    ]
    return serializer


def floor_write(objs: list[StockRecord], upsert: bool) -> None:
    """Write a batch as the floor does: ``bulk_create``, or its upsert."""
    if upsert:
        StockRecord.objects.bulk_create(
            objs,
            update_conflicts=True,
            unique_fields=["partner", "partner_sku"],
            update_fields=["product", "price", "num_in_stock", "num_allocated"],
        )
    else:
        StockRecord.objects.bulk_create(objs)


def floor(
    path: Path, write: bool, upsert: bool = False
) -> tuple[dict[str, Any], Callable[[], None]]:
    """Return facts and the timed call of the hand-written floor."""
    if write and not upsert:
        truncate_target()
    facts: dict[str, Any] = {"rows": 0, "invalid": 0, "written": 0}

    def run() -> None:
        serializer = floor_serializer()
        run_validation = serializer.run_validation
        rows = read_rows(path)
        headers = next(rows)
        pending: list[StockRecord] = []
        with transaction.atomic():
            for cells in rows:
                facts["rows"] += 1
                try:
                    validated = run_validation(dict(zip(headers, cells, strict=False)))
                except serializers.ValidationError:
                    facts["invalid"] += 1
                    continue
                if write:
                    pending.append(StockRecord(**validated))
                    if len(pending) == FLOOR_BATCH:
                        floor_write(pending, upsert)
                        facts["written"] += len(pending)
                        pending = []
            if pending:
                floor_write(pending, upsert)
                facts["written"] += len(pending)

    return facts, run


def floor_validate(path: Path, job_pk: int | None) -> tuple[dict[str, Any], Callable[[], None]]:
    """The floor, validation only."""
    return floor(path, write=False)


def floor_import(path: Path, job_pk: int | None) -> tuple[dict[str, Any], Callable[[], None]]:
    """The floor, validation and ``bulk_create``."""
    return floor(path, write=True)


def copy_row(cells: list[Any], partners: dict, products: dict) -> tuple | None:
    """Return the row to COPY, or None when it is invalid."""
    partner, product = partners.get(cells[0]), products.get(cells[1])
    try:
        price = Decimal(str(cells[3]))
        in_stock, allocated = int(cells[4]), int(cells[5])
    except (InvalidOperation, ValueError):
        return None
    if partner is None or product is None or in_stock < 0 or allocated > in_stock:
        return None
    return (partner, product, cells[2], price, in_stock, allocated)


COPY_COLUMNS = [
    "partner_id",
    "product_id",
    "partner_sku",
    "price",
    "num_in_stock",
    "num_allocated",
]
COPY_SQL = f"COPY {StockRecord._meta.db_table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"


def copy(path: Path, job_pk: int | None) -> tuple[dict[str, Any], Callable[[], None]]:
    """Return facts and the timed call: COPY of the valid rows, foreign keys from dicts."""
    truncate_target()
    facts: dict[str, Any] = {"rows": 0, "invalid": 0, "written": 0}
    sql = COPY_SQL

    def run() -> None:
        partners = dict(Partner.objects.values_list("name", "pk"))
        products = dict(Product.objects.values_list("sku", "pk"))
        rows = read_rows(path)
        next(rows)
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(sql) as out,
        ):
            for cells in rows:
                facts["rows"] += 1
                row = copy_row(cells, partners, products)
                if row is None:
                    facts["invalid"] += 1
                    continue
                out.write_row(row)
                facts["written"] += 1

    return facts, run


def tags_preview(path: Path, job_pk: int | None) -> tuple[dict[str, Any], Callable[[], None]]:
    """The library's preview of the many-to-many file (two tags a row)."""
    return library_preview(path, job_pk, TaggedStockRecordImportJob)


def tags_export(path: Path, job_pk: int | None) -> tuple[dict[str, Any], Callable[[], None]]:
    """An export of the stock records with their tags (after ``tags-import``)."""
    from example_project.demo.models import TaggedStockRecordExportJob

    return library_export(path, job_pk, TaggedStockRecordExportJob)


def tags_reupload_preview(
    path: Path, job_pk: int | None
) -> tuple[dict[str, Any], Callable[[], None]]:
    """The many-to-many file previewed again (after ``tags-import``): every row is stored."""
    facts, run = library_preview(path, job_pk, TaggedStockRecordImportJob, truncate=False)
    check = facts["_check"]

    def check_unchanged() -> None:
        check()
        job = ImportJob.objects.get(pk=facts["job"])
        if job.new_rows or job.updated_rows:
            raise SystemExit(f"re-upload: {job.new_rows} new, {job.updated_rows} updated rows")
        facts.update(unchanged=job.unchanged_rows)

    facts["_check"] = check_unchanged
    return facts, run


def tags_reupload_import(
    path: Path, job_pk: int | None
) -> tuple[dict[str, Any], Callable[[], None]]:
    """The import of ``tags-reupload-preview``'s job: every row and its tags unchanged."""
    return library_import(path, job_pk, truncate=False)


# --- update mode: every row exists, about half change -----------------------------------------

UPDATE_COLUMNS = ["product_id", "price", "num_in_stock", "num_allocated"]


def load_update_mode_apart(path: Path) -> None:
    """``load_update_mode`` in a process of its own: reading the file to load the table (an
    XLSX file through openpyxl) would leave its memory in this one, counted in the peak RSS of
    the measurement that follows."""
    import subprocess

    code = (
        "import sys, django; django.setup(); from pathlib import Path; "
        "from bench.measure import load_update_mode; load_update_mode(Path(sys.argv[1]))"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, env=os.environ.copy())


def load_update_mode(path: Path) -> None:
    """Fill the table with every valid row of the file, every other one with a higher price
    (not timed): an import of the file then updates about half of the rows."""
    truncate_target()
    partners = dict(Partner.objects.values_list("name", "pk"))
    products = dict(Product.objects.values_list("sku", "pk"))
    rows = read_rows(path)
    next(rows)
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(COPY_SQL) as out:
            for number, cells in enumerate(rows):
                row = copy_row(cells, partners, products)
                if row is not None:
                    if number % 2:
                        row = (*row[:3], row[3] + 1, *row[4:])
                    out.write_row(row)
        cursor.execute(f"ANALYZE {StockRecord._meta.db_table}")


def library_update_preview(
    path: Path, job_pk: int | None
) -> tuple[dict[str, Any], Callable[[], None]]:
    """Return facts and the timed call: the preview of a file whose rows all exist."""
    load_update_mode_apart(path)
    facts, run = library_preview(path, job_pk, truncate=False)
    check = facts["_check"]

    def check_updates() -> None:
        check()
        job = ImportJob.objects.get(pk=facts["job"])
        facts.update(updated=job.updated_rows, unchanged=job.unchanged_rows)

    facts["_check"] = check_updates
    return facts, run


def library_update_import(
    path: Path, job_pk: int | None
) -> tuple[dict[str, Any], Callable[[], None]]:
    """Return facts and the timed call: the import of ``library-update-preview``'s job."""
    load_update_mode_apart(path)
    facts, run = library_import(path, job_pk, truncate=False)
    check = facts["_check"]

    def check_updates() -> None:
        check()
        job = ImportJob.objects.get(pk=facts["job"])
        facts.update(written=job.updated_rows, updated=job.updated_rows)

    facts["_check"] = check_updates
    return facts, run


def floor_upsert(path: Path, job_pk: int | None) -> tuple[dict[str, Any], Callable[[], None]]:
    """The floor, validation and ``bulk_create(update_conflicts=True)``."""
    load_update_mode_apart(path)
    return floor(path, write=True, upsert=True)


def copy_upsert(path: Path, job_pk: int | None) -> tuple[dict[str, Any], Callable[[], None]]:
    """Return facts and the timed call: COPY into a temporary table, one upsert from it."""
    load_update_mode_apart(path)
    facts: dict[str, Any] = {"rows": 0, "invalid": 0, "written": 0}
    table = StockRecord._meta.db_table
    columns = ", ".join(COPY_COLUMNS)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATE_COLUMNS)
    old = ", ".join(f"t.{c}" for c in UPDATE_COLUMNS)
    new = ", ".join(f"EXCLUDED.{c}" for c in UPDATE_COLUMNS)
    upsert = (
        f"INSERT INTO {table} AS t ({columns}) SELECT {columns} FROM dxt_upsert "
        f"ON CONFLICT (partner_id, partner_sku) DO UPDATE SET {sets} "
        f"WHERE ({old}) IS DISTINCT FROM ({new})"
    )

    def run() -> None:
        partners = dict(Partner.objects.values_list("name", "pk"))
        products = dict(Product.objects.values_list("sku", "pk"))
        rows = read_rows(path)
        next(rows)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE dxt_upsert ON COMMIT DROP AS "
                f"SELECT {columns} FROM {table} WITH NO DATA"
            )
            with cursor.cursor.copy(f"COPY dxt_upsert ({columns}) FROM STDIN") as out:
                for cells in rows:
                    facts["rows"] += 1
                    row = copy_row(cells, partners, products)
                    if row is None:
                        facts["invalid"] += 1
                        continue
                    out.write_row(row)
            cursor.execute(upsert)
            facts["written"] = cursor.rowcount

    return facts, run


KINDS = {
    "library-preview": library_preview,
    "library-import": library_import,
    "library-export": library_export,
    "library-preview-updates": library_preview_updates,
    "floor-validate": floor_validate,
    "floor-import": floor_import,
    "copy": copy,
    "tags-preview": tags_preview,
    "tags-import": library_import,  # the previewed job's own type
    "tags-export": tags_export,
    "tags-reupload-preview": tags_reupload_preview,
    "tags-reupload-import": tags_reupload_import,
    "library-update-preview": library_update_preview,
    "library-update-import": library_update_import,
    "floor-upsert": floor_upsert,
    "copy-upsert": copy_upsert,
}


def server_cpu_seconds() -> float | None:
    """Return the CPU seconds used so far by this connection's PostgreSQL backend process (read
    from ``/proc``: the server runs on this host), or None where it cannot be read."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(kind: str, path: Path, job_pk: int | None, profile: str | None) -> dict[str, Any]:
    """Prepare, time and check one measurement; return its figures."""
    facts, run = KINDS[kind](path, job_pk)
    check = facts.pop("_check", None)
    counter = Counter()
    profiler = cProfile.Profile() if profile else None
    base_rss = rss_mb()
    server = server_cpu_seconds()
    reset_peak_rss()
    with connection.execute_wrapper(counter), ChildPeak() as child_peak:
        started, cpu = time.perf_counter(), time.process_time()
        with profiler or contextlib.nullcontext():
            run()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    server_after = server_cpu_seconds()
    if server is not None and server_after is not None:
        facts["server_cpu_seconds"] = round(server_after - server, 3)
    if profiler is not None:
        profiler.dump_stats(profile)
    if check is not None:
        check()
    rows = facts["rows"]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # an XLSX sheet's reading process
    return {
        "kind": kind,
        "file": path.name,
        **facts,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "rows_per_second": round(rows / seconds, 1) if seconds else 0.0,
        "queries": counter.queries,
        "queries_per_1000_rows": round(counter.queries * 1000 / rows, 2) if rows else 0.0,
        "base_rss_mb": round(base_rss, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "child_cpu_seconds": round(children.ru_utime + children.ru_stime, 3),
        "child_peak_rss_mb": round(child_peak.peak_kb / 1024, 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Run one measurement and print its figures as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("file", help="a file name in bench/data/")
    parser.add_argument("--job", type=int, help="the previewed job (library-import)")
    parser.add_argument("--profile", help="write cProfile stats of the timed part here")
    args = parser.parse_args(argv)
    figures = measure(args.kind, DATA_DIR / args.file, args.job, args.profile)
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
