"""
The report of ``bench.workers``: the "Workers" section of ``bench/RESULTS.md`` (#15), with the
targets checked: two workers at least ``PREVIEW_TARGET`` / ``IMPORT_TARGET`` times one worker on
the single path, in rows/s, and no worker process above the single path's peak RSS.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path
from typing import Any

from bench.run import machine, table

SECTION = "## Workers"
#: Two workers over one (the single path), rows/s: the targets of #15.
PREVIEW_TARGET = 1.6
IMPORT_TARGET = 1.4


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def tasks(counts: list[int]) -> str:
    """Return ``"9 (5 + 4)"``: the tasks a phase ran, and on each worker when several."""
    total = str(sum(counts))
    return total if len(counts) == 1 else f"{total} ({' + '.join(map(str, counts))})"


def processes(peaks: list[list[float]]) -> str:
    """Return ``"w1 82 / 104, w2 81 / 103"``: each worker's main process and pool child, MB."""
    return ", ".join(
        f"w{n} " + " / ".join(f"{mb:.0f}" for mb in worker) for n, worker in enumerate(peaks, 1)
    )


def result_rows(results: dict[str, dict[str, Any]], mode: str) -> list[list[str]]:
    lines = []
    for config in results.values():
        run = config["result"].get(mode)
        if run is None:
            continue
        preview, imported = run["preview"], run["import"]
        lines.append(
            [
                config["title"],
                f"{config['part_rows']:,}" if config["part_rows"] else "0 (off)",
                f"{preview['seconds']:.1f}",
                f"{preview['rows_per_second']:,.0f}",
                tasks(preview["tasks"]),
                f"{preview['cpu_seconds']:.1f}",
                f"{preview['server_cpu_seconds']:.1f}",
                f"{preview['peak_mb']:.0f}",
                f"{imported['seconds']:.1f}",
                f"{imported['rows_per_second']:,.0f}",
                tasks(imported["tasks"]),
                f"{imported['cpu_seconds']:.1f}",
                f"{imported['server_cpu_seconds']:.1f}",
                f"{imported['peak_mb']:.0f}",
                f"{imported['new']:,} / {imported['updated']:,}",
                f"{imported['stored']:,}",
            ]
        )
    return lines


def process_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [
        [
            config["title"],
            mode,
            processes(run["preview"]["peaks_mb"]),
            processes(run["import"]["peaks_mb"]),
        ]
        for config in results.values()
        for mode in ("insert", "update")
        if (run := config["result"].get(mode))
    ]


def round_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [
        [
            config["title"],
            mode,
            ", ".join(f"{s:.1f}" for s in run["preview"]["all_seconds"]),
            ", ".join(f"{s:.1f}" for s in run["import"]["all_seconds"]),
        ]
        for config in results.values()
        for mode in ("insert", "update")
        if (run := config["result"].get(mode))
    ]


def ratio(
    results: dict[str, dict[str, Any]], top: str, bottom: str, mode: str, phase: str
) -> float:
    return (
        results[top]["result"][mode][phase]["rows_per_second"]
        / results[bottom]["result"][mode][phase]["rows_per_second"]
    )


def target_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """Return the targets of #15 with PASS or FAIL, then the other ratios for reading."""
    preview = ratio(results, "parts2", "single", "insert", "preview")
    imported = ratio(results, "parts2", "single", "insert", "import")
    single, two = results["single"]["result"]["insert"], results["parts2"]["result"]["insert"]
    single_peak = max(single["preview"]["peak_mb"], single["import"]["peak_mb"])
    two_peak = max(two["preview"]["peak_mb"], two["import"]["peak_mb"])
    ok = preview >= PREVIEW_TARGET and imported >= IMPORT_TARGET and two_peak <= single_peak
    lines = [
        f"- {_verdict(ok)} two workers / one: preview {preview:.2f} "
        f"({_verdict(preview >= PREVIEW_TARGET)}, target >= {PREVIEW_TARGET}), import "
        f"{imported:.2f} ({_verdict(imported >= IMPORT_TARGET)}, target >= {IMPORT_TARGET}), "
        f"peak RSS per process {two_peak:.0f} MB vs {single_peak:.0f} MB "
        f"({two_peak - single_peak:+.0f} MB, {_verdict(two_peak <= single_peak)}, "
        "target <= single path)",
        f"- two workers / one worker, both partitioned (scaling): preview "
        f"{ratio(results, 'parts2', 'parts1', 'insert', 'preview'):.2f}, import "
        f"{ratio(results, 'parts2', 'parts1', 'insert', 'import'):.2f}",
        f"- one worker partitioned / single path (the parts' overhead): preview "
        f"{ratio(results, 'parts1', 'single', 'insert', 'preview'):.2f}, import "
        f"{ratio(results, 'parts1', 'single', 'insert', 'import'):.2f}",
    ]
    stored = {
        run["import"]["stored"]
        for config in results.values()
        for run in (config["result"]["insert"], config["result"].get("update"))
        if run
    }
    valid = single["import"]["rows"] - single["import"]["invalid"]
    lines.append(
        f"- {_verdict(stored == {valid})} every import left the file's {valid:,} valid rows in "
        f"the table (found: {', '.join(f'{n:,}' for n in sorted(stored))})"
    )
    if "update" in single:
        lines.append(
            f"- update mode, two workers / one: preview "
            f"{ratio(results, 'parts2', 'single', 'update', 'preview'):.2f}, import "
            f"{ratio(results, 'parts2', 'single', 'update', 'import'):.2f}"
        )
    return lines


def section(
    results: dict[str, dict[str, Any]],
    path: Path,
    part_rows: int,
    partitions: bool,
    peaks_reset: bool,
    repeat: int = 1,
) -> str:
    """Return the "Workers" section of the report."""
    rows = results["single"]["result"]["insert"]["preview"]["rows"]
    headers = [
        "run",
        "part rows",
        "preview s",
        "preview rows/s",
        "preview tasks",
        "preview CPU s",
        "preview server CPU s",
        "preview peak RSS MB/process",
        "import s",
        "import rows/s",
        "import tasks",
        "import CPU s",
        "import server CPU s",
        "import peak RSS MB/process",
        "new / updated",
        "rows in table",
    ]
    now = datetime.datetime.now(tz=datetime.UTC)
    parts = -(-rows // part_rows) if part_rows else 0
    notes = [
        f"{now:%Y-%m-%d %H:%M} UTC. {machine()}.",
        f"`{path.name}`: {rows:,} rows; part rows {part_rows:,} ({parts} parts). Each preview "
        "and each import ran on workers started for it (`celery -A example_project worker "
        "--pool prefork --concurrency 1`, preview and import queues, Redis). Each run emptied "
        "the table (insert mode), created a forced job with `actions.submit_import` and "
        "confirmed it with `actions.confirm_import`; wall seconds from the action to the state "
        "that ends the phase, polled every 0.1 s. Rows/s count every row of the file. Tasks: "
        "those the workers received in the phase (per worker when two). CPU seconds: the "
        "worker processes' own; server CPU seconds: PostgreSQL's backends serving them (both "
        "sampled every 0.1 s from `/proc`). Peak RSS: the largest high-water mark (VmHWM) of "
        "any one worker process in the phase"
        + (", reset at its start." if peaks_reset else " (since the worker started)."),
    ]
    loads = [
        load
        for config in results.values()
        for run in config["result"].values()
        if isinstance(run, dict)
        for phase in ("preview", "import")
        for load in run[phase]["loads"]
    ]
    notes.append(
        f"The machine's 1-minute load average at the end of the phases: {min(loads):.1f} to "
        f"{max(loads):.1f} on {os.cpu_count()} CPUs (other work on the machine slows the runs "
        "unevenly)."
    )
    if repeat > 1:
        notes.append(
            f"Best of {repeat} rounds (each round ran the three runs in turn, each on workers "
            "started for it): the fastest round's wall seconds, rows/s, tasks and CPU seconds "
            "for each phase, the highest peak RSS of any round; every round's seconds are "
            "listed below."
        )
    if not partitions:
        notes.append(
            "This library has no `DATA_EXCHANGE_PART_ROWS` yet: every run took the single "
            "path, so two workers measure what one does."
        )
    blocks = [
        SECTION,
        " ".join(notes),
        table(headers, result_rows(results, "insert")),
    ]
    if any("update" in config["result"] for config in results.values()):
        blocks += [
            "Update mode (every row of the file exists, about half change):",
            table(headers, result_rows(results, "update")),
        ]
    blocks += [
        "\n".join(target_lines(results)),
        "Peak RSS per worker process, MB (main process / pool child):\n\n"
        + table(["run", "mode", "preview", "import"], process_rows(results)),
    ]
    if repeat > 1:
        blocks.append(
            "Every round's seconds:\n\n"
            + table(["run", "mode", "preview s", "import s"], round_rows(results))
        )
    return "\n\n".join(blocks)


def replace_section(text: str, new: str) -> str:
    """Return ``text`` with its "## Workers" section replaced by ``new`` (appended if absent);
    the other sections are kept."""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: new.rstrip("\n") + "\n\n", text, count=1).rstrip("\n") + "\n"
    return text.rstrip("\n") + "\n\n" + new.rstrip("\n") + "\n"


def has_partitions() -> bool:
    """Return True when the library knows ``DATA_EXCHANGE_PART_ROWS``."""
    from data_exchange_tool.conf import DEFAULTS

    return "PART_ROWS" in DEFAULTS
