"""
A job's tasks one after another in one process, without a worker: the memory after each (#15).

``python -m bench.tasks_memory MODE ROWS [N] [--trace]``, with a ``DXT_BENCH_DB`` database you
create and drop yourself (see ``scripts/bench.sh``; the settings are ``bench.settings``):

- ``single``: the preview task, then the import task, of the bench's file of ``ROWS`` rows;
- ``parts``: the same cut into parts of ``N`` rows (``DATA_EXCHANGE_PART_ROWS``): the lead, each
  part's task in order, then the merge (preview) or the apply (import);
- ``repeat``: ``N`` single-task previews of the file, one after another.

A worker process runs task after task; this runs them as it would (no collection in between) and
prints, after each task, the process's peak RSS during it (``VmHWM``, reset before it) and its
RSS once it returned: a process that keeps what its tasks leave grows from line to line.
``--trace`` adds ``tracemalloc``'s count and its six largest growths since the task before.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.test import override_settings  # noqa: E402

from bench.data import data_file  # noqa: E402
from bench.measure import truncate_target  # noqa: E402
from bench.run import prepare_database  # noqa: E402
from data_exchange_tool import actions  # noqa: E402
from data_exchange_tool.models import ImportJobPart  # noqa: E402
from data_exchange_tool.tasks import (  # noqa: E402
    finish_import,
    finish_preview,
    import_job,
    import_part,
    preview_job,
    preview_part,
)
from example_project.demo.models import StockRecordImportJob  # noqa: E402


def memory_mb() -> dict[str, int]:
    """Return this process's ``VmRSS`` and ``VmHWM`` in MB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) // 1024
    return found


class Steps:
    """Run tasks, printing the memory after each."""

    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.snapshot: tracemalloc.Snapshot | None = None
        if trace:
            tracemalloc.start(25)

    def run(self, label: str, call: Callable[[], Any]) -> None:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts afresh
        started = time.perf_counter()
        call()
        seconds = time.perf_counter() - started
        memory = memory_mb()
        sys.stdout.write(
            f"{label:<18} peak {memory['VmHWM']:>4} MB  rss after {memory['VmRSS']:>4} MB  "
            f"{seconds:6.1f} s\n"
        )
        if self.trace:
            self.traced()
        sys.stdout.flush()

    def traced(self) -> None:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        sys.stdout.write(f"    traced {current / 1e6:.2f} MB, peak {peak / 1e6:.2f} MB\n")
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        if self.snapshot is not None:
            for stat in snapshot.compare_to(self.snapshot, "traceback")[:6]:
                sys.stdout.write(f"    {stat}\n")
                for frame in stat.traceback.format()[-6:]:
                    sys.stdout.write(f"        {frame}\n")
        self.snapshot = snapshot


def new_job(path: Path) -> StockRecordImportJob:
    job = StockRecordImportJob(
        file=path.name, file_name=path.name, file_size=path.stat().st_size, force_import=True
    )
    actions.submit_import(job)  # its task goes to the settings' broker: called here instead
    return job


def run_parts(steps: Steps, job: StockRecordImportJob, phase: str) -> None:
    parts = ImportJobPart.objects.filter(job=job, phase=phase).order_by("index")
    task, finish = (
        (preview_part, finish_preview) if phase == "preview" else (import_part, finish_import)
    )
    for part in parts:
        steps.run(f"{phase}_part {part.index}", lambda pk=part.pk: task(pk))
    if parts:
        steps.run(f"finish_{phase}", lambda: finish(job.pk))


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    mode, rows = args[0], int(args[1])
    count = int(args[2]) if len(args) > 2 else 0
    prepare_database()
    path = data_file(rows, "csv")
    truncate_target()
    steps = Steps("--trace" in sys.argv)
    sys.stdout.write(f"start rss {memory_mb()['VmRSS']} MB\n")
    if mode == "repeat":
        for number in range(count):
            job = new_job(path)
            steps.run(f"preview_job {number}", lambda pk=job.pk: preview_job(pk))
        return
    with override_settings(DATA_EXCHANGE_PART_ROWS=count if mode == "parts" else 0):
        job = new_job(path)
        steps.run("preview_job", lambda: preview_job(job.pk))
        run_parts(steps, job, "preview")
        job.refresh_from_db()
        actions.confirm_import(job, force=True)
        steps.run("import_job", lambda: import_job(job.pk))
        run_parts(steps, job, "import")
        job.refresh_from_db()
    sys.stdout.write(f"{job.state}: {job.total_rows:,} rows, {job.new_rows:,} new\n")


if __name__ == "__main__":
    main()
