"""
``make bench``: time the library's preview, import and export on PostgreSQL, against a floor
and COPY, in insert mode (the table starts empty) and update mode (every row of the file exists,
about half of them change).

For each file (100,000 rows as CSV and XLSX, 1,000,000 rows as CSV) the same file is read by
every measurement of ``bench.measure``, each in its own process: in insert mode the library's
preview, the floor's validation, the library's forced import, an export of the rows it wrote, a
preview in which every row is an update (the table keeps ``DATA_EXCHANGE_PREVIEW_KEEP_ROWS`` of
them), the floor's validation + ``bulk_create``, and COPY; in update mode the library's preview
and import, the floor's upsert (``bulk_create(update_conflicts=True)``) and COPY's upsert (a
temporary table and ``INSERT ... ON CONFLICT DO UPDATE``). ``--compare-overlap`` adds the
library's imports written in line (``DATA_EXCHANGE_OVERLAP_WRITES = False``; the default
overlaps). The results go to stdout and to ``bench/results/<date>.md`` as markdown, with the
targets checked (see ``TARGETS``), the 1M-row peak RSS within 1.3x the 100k-row peak, and a
small constant number of queries per 1,000 rows.

XLSX (#11): the preview of the XLSX file at least 0.75x the CSV preview of the same rows, its peak
RSS at 1,048,576 rows (the format's limit, a sheet of its own) within 1.5x the 100k figure, the
export at least 2x its rows/s before.

Many-to-many (#16): each CSV size also has the same rows with a ``tags`` column naming two tags a
row, previewed, imported (the tags' through rows written in bulk) and exported, then uploaded again
(previewed and imported with every row and its tags stored: each batch reads the stored rows' tags
to compare them), reported with its rows/s beside the plain case's (the re-upload beside the plain
update mode; ``--skip-tags`` leaves it out).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench.data import data_file, partner_names, product_skus, tag_names  # noqa: E402
from example_project.demo.models import Partner, Product, Tag  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
RATIO_TARGET = 0.8
MEMORY_TARGET = 1.3
#: XLSX targets (#11): the preview at least this share of the CSV preview's rows/s on the same
#: rows; its peak RSS at the sheet's limit (1,048,576 rows with the header) at most this many
#: times the 100k figure; the XLSX export at least this many times the figure before #11.
XLSX_PREVIEW_TARGET = 0.75
XLSX_MEMORY_TARGET = 1.5
XLSX_EXPORT_TARGET = 2.0
#: XLSX export rows/s before #11 (openpyxl's write-only mode; bench/RESULTS.md, commit 57b45f3).
XLSX_EXPORT_BEFORE = 10_970
#: Data rows of the largest XLSX sheet: with its header, Excel's 1,048,576 rows.
XLSX_LIMIT_ROWS = 1_048_575
#: ``(name, numerator, denominator, target)``: rows/s of one measurement over another's, at
#: least ``target``. ``+`` adds the measurements' seconds (a preview and its import together).
TARGETS = [
    ("insert: import / COPY", "library-import", "copy", 0.7),
    ("insert: import / floor", "library-import", "floor-import", RATIO_TARGET),
    ("insert: preview / floor", "library-preview", "floor-validate", RATIO_TARGET),
    ("insert: preview + import / COPY", "library-preview+library-import", "copy", 0.4),
    ("update: import / COPY upsert", "library-update-import", "copy-upsert", 0.6),
    ("update: import / floor upsert", "library-update-import", "floor-upsert", 2.0),
    ("update: preview / insert preview", "library-update-preview", "library-preview", 0.8),
]
#: Library measurements whose memory and queries must not grow with the file.
FLAT = [
    "library-preview",
    "library-preview-updates",
    "library-import",
    "library-export",
    "library-update-preview",
    "library-update-import",
]


def prepare_database() -> None:
    """Migrate the bench database and create the catalogue the files refer to."""
    call_command("migrate", verbosity=0, interactive=False)
    if not Partner.objects.exists():
        Partner.objects.bulk_create(Partner(name=name) for name in partner_names())
    if not Product.objects.exists():
        Product.objects.bulk_create(
            (Product(sku=sku, title=f"Product {sku}") for sku in product_skus()), batch_size=2000
        )
    if not Tag.objects.exists():
        Tag.objects.bulk_create(Tag(name=name) for name in tag_names())


def run_measurement(
    kind: str, path: Path, job: int | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one measurement in a fresh process and return its figures."""
    command = [sys.executable, "-m", "bench.measure", kind, path.name]
    if job is not None:
        command += ["--job", str(job)]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bench: {kind} on {path.name} failed")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    sys.stderr.write(
        f"  {kind:<24} {figures['rows']:>9,} rows  {figures['seconds']:>8.1f} s  "
        f"{figures['rows_per_second']:>9,.0f} rows/s  {figures['peak_rss_mb']:>6.0f} MB\n"
    )
    return figures


def measure_file(rows: int, fmt: str, compare_overlap: bool) -> dict[str, dict[str, Any]]:
    """Run every measurement on one file; return them by kind."""
    path = data_file(rows, fmt)
    sys.stderr.write(f"bench: {path.name} ({path.stat().st_size / 1e6:.1f} MB)\n")
    preview = run_measurement("library-preview", path)
    results = {
        "library-preview": preview,
        "floor-validate": run_measurement("floor-validate", path),
        "library-import": run_measurement("library-import", path, preview["job"]),
        "library-export": run_measurement("library-export", path),
        "library-preview-updates": run_measurement("library-preview-updates", path),
        "floor-import": run_measurement("floor-import", path),
        "copy": run_measurement("copy", path),
    }
    update = run_measurement("library-update-preview", path)
    results["library-update-preview"] = update
    results["library-update-import"] = run_measurement("library-update-import", path, update["job"])
    results["floor-upsert"] = run_measurement("floor-upsert", path)
    results["copy-upsert"] = run_measurement("copy-upsert", path)
    if compare_overlap:
        in_line = {"DXT_BENCH_OVERLAP_WRITES": "0"}
        for preview_kind, kind in (
            ("library-preview", "library-import"),
            ("library-update-preview", "library-update-import"),
        ):
            job = run_measurement(preview_kind, path)["job"]
            results[f"{kind}-in-line"] = run_measurement(kind, path, job, in_line)
    return results


def measure_tags(rows: int) -> dict[str, dict[str, Any]]:
    """Run the many-to-many case (two tags a row) on the CSV of ``rows``; return it by kind."""
    path = data_file(rows, "csv", tagged=True)
    sys.stderr.write(f"bench: {path.name} ({path.stat().st_size / 1e6:.1f} MB)\n")
    preview = run_measurement("tags-preview", path)
    imported = run_measurement("tags-import", path, preview["job"])
    exported = run_measurement("tags-export", path)
    again = run_measurement("tags-reupload-preview", path)
    reupload = {
        "tags-reupload-preview": again,
        "tags-reupload-import": run_measurement("tags-reupload-import", path, again["job"]),
    }
    return {
        "tags-preview": preview,
        "tags-import": imported,
        "tags-export": exported,
        **reupload,
    }


def tags_rows(results: dict, tags: dict[int, dict[str, dict]]) -> list[list[str]]:
    """Return the lines of the many-to-many table: each phase beside the plain case's."""
    lines = []
    for rows, figures in tags.items():
        plain = results[(rows, "csv")]
        for phase, kind, plain_kind in (
            ("preview", "tags-preview", "library-preview"),
            ("import", "tags-import", "library-import"),
            ("export", "tags-export", "library-export"),
            ("re-upload preview", "tags-reupload-preview", "library-update-preview"),
            ("re-upload import", "tags-reupload-import", "library-update-import"),
        ):
            tagged, base = figures[kind], plain[plain_kind]
            lines.append(
                [
                    f"{label(rows, 'csv')} {phase}, two tags a row",
                    f"{tagged['rows']:,}",
                    f"{tagged['rows_per_second']:,.0f}",
                    f"{base['rows_per_second']:,.0f}",
                    f"{tagged['rows_per_second'] / base['rows_per_second']:.2f}",
                    f"{tagged['peak_rss_mb']:.0f}",
                    f"{tagged['queries_per_1000_rows']:.2f}",
                    f"{tagged.get('through', 0):,}",
                ]
            )
    return lines


def label(rows: int, fmt: str) -> str:
    """Return ``"CSV 100k"`` for a file."""
    if rows == XLSX_LIMIT_ROWS:
        return f"{fmt.upper()} 1,048,576-row"
    size = f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else f"{rows // 1000}k"
    return f"{fmt.upper()} {size}"


def rate(figures: dict[str, dict], kinds: str) -> float:
    """Return rows/s of a measurement, or of several run one after the other (``a+b``)."""
    parts = [figures[kind] for kind in kinds.split("+")]
    return parts[0]["rows"] / sum(part["seconds"] for part in parts)


def summary_rows(results: dict[tuple[int, str], dict[str, dict]]) -> list[list[str]]:
    """Return the lines of the main table: one per file and phase."""
    lines = []
    for (rows, fmt), figures in results.items():
        for phase, library, floor, copy in (
            ("preview", "library-preview", "floor-validate", "copy"),
            ("preview, every row an update", "library-preview-updates", "floor-validate", "copy"),
            ("import", "library-import", "floor-import", "copy"),
            ("update mode: preview", "library-update-preview", "floor-validate", "copy-upsert"),
            ("update mode: import", "library-update-import", "floor-upsert", "copy-upsert"),
        ):
            lib, ref, top = figures[library], figures[floor], figures[copy]
            lines.append(
                [
                    f"{label(rows, fmt)} {phase}",
                    f"{lib['rows']:,}",
                    f"{lib['rows_per_second']:,.0f}",
                    f"{lib['peak_rss_mb']:.0f}",
                    f"{lib['queries_per_1000_rows']:.2f}",
                    f"{floor} {ref['rows_per_second']:,.0f}",
                    f"{lib['rows_per_second'] / ref['rows_per_second']:.2f}",
                    f"{copy} {top['rows_per_second']:,.0f}",
                    f"{lib['rows_per_second'] / top['rows_per_second']:.3f}",
                ]
            )
    return lines


def ratio_rows(results: dict[tuple[int, str], dict[str, dict]]) -> list[list[str]]:
    """Return the targets' ratios of each file, with the overlap's when it was compared."""
    lines = []
    for (rows, fmt), figures in results.items():
        for name, numerator, denominator, target in TARGETS:
            ratio = rate(figures, numerator) / rate(figures, denominator)
            lines.append(
                [
                    f"{label(rows, fmt)} {name}",
                    f"{ratio:.2f}",
                    f">= {target}",
                    _verdict(ratio >= target),
                ]
            )
        for kind in ("library-import", "library-update-import"):
            if f"{kind}-in-line" in figures:
                ratio = rate(figures, kind) / rate(figures, f"{kind}-in-line")
                lines.append(
                    [f"{label(rows, fmt)} {kind}: overlapped / in line", f"{ratio:.2f}", "", ""]
                )
    return lines


def export_rows(results: dict[tuple[int, str], dict[str, dict]]) -> list[list[str]]:
    """Return the lines of the export table: one per file."""
    return [
        [
            f"{label(rows, fmt)} export",
            f"{figures['library-export']['rows']:,}",
            f"{figures['library-export']['rows_per_second']:,.0f}",
            f"{figures['library-export']['peak_rss_mb']:.0f}",
            f"{figures['library-export']['queries_per_1000_rows']:.2f}",
            f"{figures['library-export'].get('file_mb', 0):.1f}",
        ]
        for (rows, fmt), figures in results.items()
    ]


def table(headers: list[str], lines: list[list[str]]) -> str:
    """Return a markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def detail_line(name: str, kind: str, f: dict[str, Any]) -> list[str]:
    """Return one measurement's raw figures."""
    return [
        name,
        kind,
        f"{f['rows']:,}",
        f"{f['invalid']:,}",
        f"{f['written']:,}",
        f"{f['seconds']:.1f}",
        f"{f['cpu_seconds']:.1f}",
        f"{f.get('server_cpu_seconds', 0):.1f}",
        f"{f['rows_per_second']:,.0f}",
        str(f["queries"]),
        f"{f['base_rss_mb']:.0f}",
        f"{f['peak_rss_mb']:.0f}",
        f"{f.get('child_cpu_seconds', 0):.1f}",
        f"{f.get('child_peak_rss_mb', 0):.0f}",
    ]


def detail_rows(results: dict[tuple[int, str], dict[str, dict]]) -> list[list[str]]:
    """Return every measurement's raw figures."""
    return [
        detail_line(label(rows, fmt), kind, f)
        for (rows, fmt), figures in results.items()
        for kind, f in figures.items()
    ]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def checks(results: dict[tuple[int, str], dict[str, dict]], small: int, large: int) -> list[str]:
    """Return one line per memory and queries target, with PASS or FAIL (the ratios' targets
    are in their own table)."""
    lines = []
    big, base = results.get((large, "csv")), results.get((small, "csv"))
    if big and base:
        for kind in FLAT:
            growth = big[kind]["peak_rss_mb"] / base[kind]["peak_rss_mb"]
            queries = (
                base[kind]["queries_per_1000_rows"],
                big[kind]["queries_per_1000_rows"],
            )
            lines.append(
                f"- {_verdict(growth <= MEMORY_TARGET)} {kind} peak RSS {label(large, 'csv')} / "
                f"{label(small, 'csv')}: {growth:.2f} (target <= {MEMORY_TARGET}; "
                f"{base[kind]['peak_rss_mb']:.0f} MB, {big[kind]['peak_rss_mb']:.0f} MB)"
            )
            lines.append(
                f"- {_verdict(abs(queries[1] - queries[0]) <= max(1.0, 0.2 * queries[0]))} "
                f"{kind} queries per 1,000 rows: {queries[0]:.2f} at "
                f"{label(small, 'csv')}, {queries[1]:.2f} at {label(large, 'csv')} (constant)"
            )
    return lines


def machine() -> str:
    """Return a line describing where the bench ran."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return (
        f"Python {platform.python_version()}, PostgreSQL {pg}, {os.cpu_count()} CPUs, "
        f"commit {commit or 'unknown'}, database {connection.settings_dict['NAME']}"
    )


def rss_with_child(figures: dict[str, Any]) -> float:
    """Return a measurement's peak RSS plus its child process's (an upper bound of both)."""
    return figures["peak_rss_mb"] + figures.get("child_peak_rss_mb", 0.0)


def xlsx_lines(
    results: dict[tuple[int, str], dict[str, dict]], small: int, limit: dict[str, Any] | None
) -> list[str]:
    """Return the XLSX targets of #11, with PASS or FAIL: preview / CSV, RSS, export."""
    csv_run, xlsx_run = results.get((small, "csv")), results.get((small, "xlsx"))
    if not (csv_run and xlsx_run):
        return []
    preview = xlsx_run["library-preview"]
    ratio = preview["rows_per_second"] / csv_run["library-preview"]["rows_per_second"]
    export = xlsx_run["library-export"]["rows_per_second"] / XLSX_EXPORT_BEFORE
    lines = [
        f"- {_verdict(ratio >= XLSX_PREVIEW_TARGET)} XLSX preview / CSV preview "
        f"({label(small, 'xlsx')}): {ratio:.2f} (target >= {XLSX_PREVIEW_TARGET})",
        f"- {_verdict(export >= XLSX_EXPORT_TARGET)} XLSX export: "
        f"{xlsx_run['library-export']['rows_per_second']:,.0f} rows/s, {export:.2f}x the "
        f"{XLSX_EXPORT_BEFORE:,} rows/s before #11 (target >= {XLSX_EXPORT_TARGET}x)",
    ]
    if limit is not None:
        base, big = rss_with_child(preview), rss_with_child(limit)
        lines.append(
            f"- {_verdict(big / base <= XLSX_MEMORY_TARGET)} XLSX preview peak RSS (process + "
            f"sheet reader): {base:.0f} MB at {label(small, 'xlsx')}, {big:.0f} MB at "
            f"{limit['rows']:,} rows + header: {big / base:.2f} (target <= {XLSX_MEMORY_TARGET})"
        )
    return lines


def report(
    results: dict,
    small: int,
    large: int,
    xlsx_limit: dict[str, Any] | None = None,
    tags: dict | None = None,
) -> str:
    """Return the whole markdown report."""
    summary_headers = [
        "case",
        "rows",
        "library rows/s",
        "peak RSS MB",
        "queries / 1k rows",
        "floor rows/s",
        "library / floor",
        "COPY rows/s",
        "library / COPY",
    ]
    ratio_headers = ["ratio (rows/s over rows/s)", "figure", "target", ""]
    detail_headers = [
        "file",
        "measurement",
        "rows",
        "invalid",
        "written",
        "wall s",
        "CPU s",
        "server CPU s",
        "rows/s",
        "queries",
        "RSS at start MB",
        "peak RSS MB",
        "child CPU s",
        "child peak RSS MB",
    ]
    details = detail_rows({**results, **tagged_results(tags)})
    if xlsx_limit is not None:
        details.append(
            detail_line(label(xlsx_limit["rows"], "xlsx"), "library-preview", xlsx_limit)
        )
    now = datetime.datetime.now(tz=datetime.UTC)
    return "\n\n".join(
        [
            f"# Benchmark {now:%Y-%m-%d %H:%M} UTC",
            machine(),
            "Preview is compared with the floor's validation only, import with the floor's "
            "validation + bulk_create (update mode: + bulk_create(update_conflicts=True), "
            "INSERT ... ON CONFLICT DO UPDATE); COPY writes the same valid rows (update mode: "
            "COPY into a temporary table, then INSERT ... ON CONFLICT DO UPDATE ... WHERE IS "
            "DISTINCT FROM). In update mode every row of the file exists and about half of them "
            "change. Rows/s count every row of the file (about 1% invalid). Queries count the "
            "library's COPY statements. Each measurement ran in its own process.",
            table(summary_headers, summary_rows(results)),
            "## Ratios\n\n" + table(ratio_headers, ratio_rows(results)),
            "## Exports\n\nEvery stock record the import wrote, exported by an export job in "
            "the file's format (run in-process, streamed to storage).\n\n"
            + table(
                ["case", "rows", "rows/s", "peak RSS MB", "queries / 1k rows", "file MB"],
                export_rows(results),
            ),
            *([tags_section(results, tags)] if tags else []),
            "## Memory and queries\n\n" + "\n".join(checks(results, small, large)),
            "## XLSX (#11)\n\nThe XLSX preview against the CSV preview of the same rows, its "
            "peak RSS at the sheet's limit (a child process reads sheets of "
            "DATA_EXCHANGE_XLSX_PROCESS_THRESHOLD bytes or more: its peak is added), and the "
            "XLSX export against the figure before #11.\n\n"
            + "\n".join(xlsx_lines(results, small, xlsx_limit) or ["(no XLSX file measured)"]),
            "## Every measurement\n\n" + table(detail_headers, details),
        ]
    )


def tagged_results(tags: dict | None) -> dict:
    """Return the many-to-many measurements keyed as files are (for the detail table)."""
    return {(rows, "csv tags"): figures for rows, figures in (tags or {}).items()}


def tags_section(results: dict, tags: dict) -> str:
    """Return the many-to-many section of the report."""
    return (
        "## Many-to-many\n\nThe same rows with a `tags` column naming two tags a row "
        "(`TaggedStockRecordImportJob`: `SlugRelatedField(many=True)`), beside the plain case "
        "of the same file size. The import writes the through rows in bulk; the export reads "
        "them with one query per chunk. The re-upload previews and imports the same file again "
        "(every row and its tags stored, nothing changes: each batch reads the stored rows' "
        "tags), beside the plain case's update mode (every row stored, half of them changed)."
        "\n\n"
        + table(
            [
                "case",
                "rows",
                "rows/s",
                "plain rows/s",
                "tags / plain",
                "peak RSS MB",
                "queries / 1k rows",
                "through rows",
            ],
            tags_rows(results, tags),
        )
    )


def main(argv: list[str] | None = None) -> None:
    """Prepare the database and files, run every measurement, print and save the report."""
    parser = argparse.ArgumentParser(description="Benchmark preview and import on PostgreSQL.")
    parser.add_argument("--small", type=int, default=100_000, help="rows of the CSV and XLSX")
    parser.add_argument("--large", type=int, default=1_000_000, help="rows of the large CSV")
    parser.add_argument("--skip-large", action="store_true", help="leave the large CSV out")
    parser.add_argument("--skip-xlsx", action="store_true", help="leave the XLSX file out")
    parser.add_argument(
        "--xlsx-limit",
        type=int,
        default=XLSX_LIMIT_ROWS,
        help="data rows of the XLSX whose preview RSS is compared (default: Excel's limit)",
    )
    parser.add_argument(
        "--skip-xlsx-limit", action="store_true", help="leave the largest XLSX preview out"
    )
    parser.add_argument("--skip-tags", action="store_true", help="leave the many-to-many case out")
    parser.add_argument(
        "--compare-overlap",
        action="store_true",
        help="also run the imports written in line (DATA_EXCHANGE_OVERLAP_WRITES = False)",
    )
    args = parser.parse_args(argv)
    prepare_database()
    files = [(args.small, "csv")]
    if not args.skip_xlsx:
        files.append((args.small, "xlsx"))
    if not args.skip_large:
        files.append((args.large, "csv"))
    results = {(rows, fmt): measure_file(rows, fmt, args.compare_overlap) for rows, fmt in files}
    xlsx_limit = None
    if not (args.skip_xlsx or args.skip_xlsx_limit):
        path = data_file(args.xlsx_limit, "xlsx")
        sys.stderr.write(f"bench: {path.name} ({path.stat().st_size / 1e6:.1f} MB), preview\n")
        xlsx_limit = run_measurement("library-preview", path)
    tags = (
        {} if args.skip_tags else {rows: measure_tags(rows) for rows, fmt in files if fmt == "csv"}
    )
    text = report(results, args.small, args.large, xlsx_limit, tags)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{datetime.datetime.now(tz=datetime.UTC):%Y-%m-%d-%H%M}.md"
    path.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + f"\n\nSaved to {path.relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
