"""
``bash scripts/bench.sh --workers``: the preview and the import of one CSV on real Celery worker
processes, with one worker and with two (#15, "Past one worker").

The same generated CSV as the rest of the bench (``bench.data``, 1,000,000 rows by default), on
the bench's PostgreSQL database, is imported three times; each preview and each import runs on
workers started for it and stopped after it (``celery -A example_project worker --pool prefork
--concurrency 1`` on the run's preview and import queues, on Redis), so no phase inherits what an
earlier one left in a worker's memory:

1. one worker, the single path (``DATA_EXCHANGE_PART_ROWS = 0``: the file is one task);
2. one worker, partitioned (``DATA_EXCHANGE_PART_ROWS = --part-rows``);
3. two workers, partitioned.

Each run empties the table first (insert mode), creates a forced job through the library's own
actions (``actions.submit_import``, then ``actions.confirm_import``) and polls its state until
the preview, then the import, is done, within a deadline: that wall time, from the action to the
state that ends the phase, is what a person waits for. ``--update-mode`` adds, in each run, a
preview and an import in which every row of the file exists and about half change
(``measure.load_update_mode``).

Memory: the high-water mark (``VmHWM``) of every process of each worker (its main process and its
pool's child) is sampled from ``/proc`` during the run; it is reset at the start of each phase
(``clear_refs``), so each phase has its own peak. CPU seconds are the worker processes' own, and
PostgreSQL's for the backends that served them; the tasks each worker received are counted from
its log. ``--repeat N`` runs N rounds of the three runs, interleaved, and keeps each phase's
fastest (the machine may be shared: single runs are noisy).

The partitioning is read by the workers from ``DATA_EXCHANGE_PART_ROWS``, which ``bench.settings``
sets from ``DXT_BENCH_PART_ROWS``; the run that sends the tasks overrides the setting too. A
library without the setting runs the single path in all three runs: the harness still measures.
Broker, queues and log directory are the run's own (``DXT_BENCH_BROKER_URL``,
``DXT_BENCH_QUEUE_PREFIX``, set here before Django starts), so parallel runs do not meet.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = os.environ.setdefault("DXT_BENCH_RUN_ID", secrets.token_hex(4))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault(
    "DXT_BENCH_BROKER_URL", f"redis://127.0.0.1:6379/{int(RUN_ID[:4], 16) % 15 + 1}"
)
os.environ.setdefault("DXT_BENCH_QUEUE_PREFIX", f"dxt_bench_{RUN_ID}")
#: This process's connections are named (libpq reads ``PGAPPNAME``), so their CPU is not counted
#: as the workers'.
DRIVER_APP_NAME = "dxt-bench-driver"
os.environ["PGAPPNAME"] = DRIVER_APP_NAME

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402

from bench.data import data_file  # noqa: E402
from bench.measure import load_update_mode, truncate_target  # noqa: E402
from bench.run import RESULTS_DIR, prepare_database  # noqa: E402
from bench.workers_report import has_partitions, replace_section, section, tasks  # noqa: E402
from data_exchange_tool import actions  # noqa: E402
from data_exchange_tool.models import ImportJob  # noqa: E402
from data_exchange_tool.states import JobState  # noqa: E402
from example_project.demo.models import StockRecord, StockRecordImportJob  # noqa: E402

RESULTS_FILE = ROOT / "bench" / "RESULTS.md"
#: Parts of the default ``--part-rows``: a 1M-row file in 8 parts of 125,000 rows.
DEFAULT_PARTS = 8
POLL_SECONDS = 0.1


# --- worker processes ----------------------------------------------------------------------


def tree(pid: int) -> list[int]:
    """Return ``pid`` and its descendants that are alive (read from ``/proc``)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for path in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(child) for child in path.read_text().split()]
    return found


def read_status(pid: int) -> tuple[int, int] | None:
    """Return ``(VmHWM kB, CPU ticks)`` of a process, or None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+)", status, re.MULTILINE)
    return (int(match.group(1)) if match else 0), int(stat[11]) + int(stat[12])


@dataclass
class Worker:
    """A worker process started for a run, its log, and what its processes used."""

    name: str
    process: subprocess.Popen
    log_path: Path
    #: Per process id: the highest VmHWM seen since the phase began (kB), and the CPU ticks.
    peak_kb: dict[int, int] = field(default_factory=dict)
    ticks: dict[int, int] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def ready(self) -> bool:
        """Return True once the worker consumes; fail when it exited."""
        if self.process.poll() is not None:
            raise SystemExit(f"bench: worker {self.name} exited; its log: {self.log_path}")
        return " ready." in self.log()

    def received(self) -> int:
        """Return how many tasks the worker has received (its log says so for each)."""
        return self.log().count("] received")

    def sample(self) -> None:
        """Read the VmHWM and CPU time of each process of the worker."""
        for pid in tree(self.process.pid):
            status = read_status(pid)
            if status is not None:
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), status[0])
                self.ticks[pid] = status[1]

    def reset_peaks(self) -> bool:
        """Start each process's high-water mark afresh (a new phase); False where it cannot."""
        self.peak_kb.clear()
        done = True
        for pid in tree(self.process.pid):
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                done = False
        return done

    def cpu_seconds(self) -> float:
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop the worker and its pool (its own process group): TERM, then KILL."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)


class ServerCPU:
    """CPU time of the PostgreSQL backends serving the workers on the bench's database, sampled
    from ``/proc`` (the server runs on this host; elsewhere nothing is counted). A backend lives as
    long as a task's connection: each one's last reading counts, keyed by its pid and start
    time. This process's own connections are left out by their name."""

    SQL = (
        "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = current_database() "
        f"AND backend_type = 'client backend' AND application_name <> '{DRIVER_APP_NAME}'"
    )

    def __init__(self) -> None:
        self.ticks: dict[tuple[int, Any], int] = {}

    def sample(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.SQL)
            backends = cursor.fetchall()
        for pid, started in backends:
            with contextlib.suppress(OSError):
                if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
            status = read_status(pid)
            if status is not None:
                self.ticks[pid, started] = status[1]

    def seconds(self) -> float:
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")


def worker_command(name: str) -> list[str]:
    """Return the command line of one worker process on the run's preview and import queues."""
    queues = f"{settings.DATA_EXCHANGE_PREVIEW_QUEUE},{settings.DATA_EXCHANGE_IMPORT_QUEUE}"
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "example_project",
        "worker",
        "-Q",
        queues,
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        # As the README advises for partitioned jobs: a worker holds one part at a time, so the
        # other worker is never idle while parts wait in one worker's prefetch.
        "--prefetch-multiplier",
        "1",
        "-l",
        "info",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
    ]


class Pool:
    """The worker processes of one phase: started, sampled in a thread, always stopped."""

    def __init__(self, count: int, part_rows: int, log_dir: Path, label: str) -> None:
        self.count, self.part_rows, self.log_dir, self.label = count, part_rows, log_dir, label
        self.workers: list[Worker] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self.peaks_reset = True
        self.server = ServerCPU()

    def __enter__(self) -> Pool:
        env = {
            **{k: v for k, v in os.environ.items() if k != "PGAPPNAME"},
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DXT_BENCH_PART_ROWS": str(self.part_rows),
        }
        try:
            for number in range(1, self.count + 1):
                name = f"{os.environ['DXT_BENCH_QUEUE_PREFIX']}-{self.label}-w{number}"
                log_path = self.log_dir / f"{self.label}-w{number}.log"
                with open(log_path, "wb") as log:
                    process = subprocess.Popen(
                        worker_command(name),
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own group: stopped with its pool
                    )
                self.workers.append(Worker(name, process, log_path))
                self._record_pids()
            for worker in self.workers:
                wait_for(worker.ready, 120, f"worker {worker.name} ready", self.log_paths())
        except BaseException:
            self.write_tails()
            self.stop()
            raise
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for worker in self.workers:
            worker.stop()
        self._record_pids(stopped=True)

    def _record_pids(self, stopped: bool = False) -> None:
        """Keep the running workers' process groups in a file ``scripts/bench.sh`` kills on
        exit, should this process die before it stops them."""
        path = self.log_dir / "workers.pid"
        pids = [] if stopped else [str(w.process.pid) for w in self.workers]
        path.write_text("".join(f"{pid}\n" for pid in pids))

    def _watch(self) -> None:
        try:
            while not self._stop.wait(POLL_SECONDS):
                self.sample()
        finally:
            connection.close()  # this thread's own

    def sample(self) -> None:
        with self._lock:
            for worker in self.workers:
                worker.sample()
            self.server.sample()

    def begin_phase(self) -> tuple[float, float]:
        """Reset the peaks; return the CPU seconds used so far by the workers and the server."""
        with self._lock:
            for worker in self.workers:
                self.peaks_reset &= worker.reset_peaks()
                worker.sample()
            self.server.sample()
            return self.cpu_seconds(), self.server.seconds()

    def cpu_seconds(self) -> float:
        return sum(worker.cpu_seconds() for worker in self.workers)

    def received(self) -> list[int]:
        """Return how many tasks each worker has received."""
        return [worker.received() for worker in self.workers]

    def peaks_mb(self) -> list[list[float]]:
        """Return, per worker, the peak RSS of each of its processes (main first) in MB."""
        self.sample()
        return [
            [round(kb / 1024, 1) for _, kb in sorted(worker.peak_kb.items())]
            for worker in self.workers
        ]

    def alive(self) -> None:
        """Fail when a worker exited."""
        for worker in self.workers:
            if worker.process.poll() is not None:
                raise SystemExit(
                    f"bench: worker {worker.name} exited ({worker.process.returncode}); "
                    f"its log: {worker.log_path}"
                )

    def log_paths(self) -> str:
        return ", ".join(str(worker.log_path) for worker in self.workers)

    def write_tails(self, lines: int = 15) -> None:
        """Write the end of each worker's log to stderr (the bench is failing)."""
        for worker in self.workers:
            with contextlib.suppress(OSError):
                tail = worker.log().splitlines()[-lines:]
                sys.stderr.write(f"--- {worker.log_path} (end)\n" + "\n".join(tail) + "\n")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, logs: str) -> Any:
    """Return ``predicate()``'s first truthy value; fail naming the logs after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(
                f"bench: timed out after {timeout:g} s waiting for {what}; worker logs: {logs}"
            )
        time.sleep(POLL_SECONDS)


# --- one run: preview and import of a job --------------------------------------------------


def phase_done(job: ImportJob, pool: Pool, done: JobState, failed: tuple[str, ...]) -> bool:
    """Return True once the job reached ``done``; fail when it failed or a worker died."""
    state, message = ImportJob.objects.filter(pk=job.pk).values_list("state", "message").get()
    if state in failed:
        raise SystemExit(f"bench: job {job.pk} {state}: {message}; worker logs: {pool.log_paths()}")
    pool.alive()
    return state == done


def timed_phase(
    pool: Pool, job: ImportJob, start: Callable[[], Any], done: JobState, deadline: float
) -> dict[str, Any]:
    """Start a phase, wait for the job to reach ``done``; return its wall and CPU time and the
    peak RSS of each worker process during it."""
    failed = (JobState.PREVIEW_FAILED, JobState.IMPORT_FAILED, JobState.CANCELLED)
    (cpu, server), received = pool.begin_phase(), pool.received()
    started = time.perf_counter()
    start()
    wait_for(
        lambda: phase_done(job, pool, done, failed),
        deadline,
        f"job {job.pk} to reach {done}",
        pool.log_paths(),
    )
    seconds = time.perf_counter() - started
    peaks = pool.peaks_mb()
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(pool.cpu_seconds() - cpu, 2),
        "server_cpu_seconds": round(pool.server.seconds() - server, 2),
        "load": round(os.getloadavg()[0], 2),
        "peaks_mb": peaks,
        "peak_mb": max((mb for worker in peaks for mb in worker), default=0.0),
        # Every task of the phase was received before its last one ended the phase.
        "tasks": [now - before for now, before in zip(pool.received(), received, strict=True)],
        "peaks_reset": pool.peaks_reset,
    }


def on_fresh_workers(
    config: Config,
    label: str,
    job: ImportJob,
    start: Callable[[], Any],
    done: JobState,
    deadline: float,
) -> dict[str, Any]:
    """Start the config's workers, time one phase on them, stop them.

    Each phase has workers of its own, so its peak RSS does not carry what an earlier task left
    in a pool child's heap.
    """
    with Pool(config.workers, config.part_rows, config.log_dir, label) as pool:
        try:
            return timed_phase(pool, job, start, done, deadline)
        except SystemExit:
            pool.write_tails()
            raise


def preview_and_import(config: Config, label: str, path: Path, deadline: float) -> dict[str, Any]:
    """Preview and import the file through the library's actions; return both phases' figures."""
    job = StockRecordImportJob(
        file=path.name, file_name=path.name, file_size=path.stat().st_size, force_import=True
    )
    preview = on_fresh_workers(
        config,
        f"{label}-preview",
        job,
        lambda: actions.submit_import(job),
        JobState.PREVIEW_SUCCEEDED,
        deadline,
    )
    job.refresh_from_db()
    preview.update(rows=job.total_rows, invalid=job.invalid_rows)
    imported = on_fresh_workers(
        config,
        f"{label}-import",
        job,
        lambda: actions.confirm_import(job, force=True),
        JobState.IMPORT_SUCCEEDED,
        deadline,
    )
    job.refresh_from_db()
    imported.update(
        rows=job.total_rows,
        invalid=job.invalid_rows,
        new=job.new_rows,
        updated=job.updated_rows,
        stored=StockRecord.objects.count(),
    )
    for figures in (preview, imported):
        figures["rows_per_second"] = round(figures["rows"] / figures["seconds"], 1)
    return {"job": job.pk, "preview": preview, "import": imported}


@dataclass
class Config:
    label: str
    title: str
    workers: int
    part_rows: int
    log_dir: Path


def configs(part_rows: int, log_dir: Path) -> list[Config]:
    return [
        Config("single", "1 worker, single path", 1, 0, log_dir),
        Config("parts1", "1 worker, partitioned", 1, part_rows, log_dir),
        Config("parts2", "2 workers, partitioned", 2, part_rows, log_dir),
    ]


def run_config(
    config: Config, path: Path, deadline: float, update_mode: bool, number: int
) -> dict[str, Any]:
    """Import the file on the config's workers: insert mode, then update mode if asked."""
    sys.stderr.write(
        f"bench: round {number}, {config.title} (DATA_EXCHANGE_PART_ROWS={config.part_rows})\n"
    )
    label = f"{config.label}-r{number}"
    with override_settings(DATA_EXCHANGE_PART_ROWS=config.part_rows):
        truncate_target()
        result = {"insert": preview_and_import(config, f"{label}-insert", path, deadline)}
        report_progress("insert", result["insert"])
        if update_mode:
            load_update_mode(path)
            result["update"] = preview_and_import(config, f"{label}-update", path, deadline)
            report_progress("update", result["update"])
    return result


def best_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a config's figures over its rounds: each phase's fastest round, with the highest
    peak RSS of any round and every round's seconds."""
    best: dict[str, Any] = {
        "peaks_reset": all(
            run[mode][phase]["peaks_reset"]
            for run in rounds
            for mode in ("insert", "update")
            if mode in run
            for phase in ("preview", "import")
        )
    }
    for mode in ("insert", "update"):
        if mode not in rounds[0]:
            continue
        best[mode] = {}
        for phase in ("preview", "import"):
            figures = [run[mode][phase] for run in rounds]
            fastest = dict(min(figures, key=lambda f: f["seconds"]))
            largest = max(figures, key=lambda f: f["peak_mb"])
            fastest.update(
                peak_mb=largest["peak_mb"],
                peaks_mb=largest["peaks_mb"],
                all_seconds=[f["seconds"] for f in figures],
                loads=[f["load"] for f in figures],
            )
            best[mode][phase] = fastest
    return best


def warm_up() -> None:
    """Send one message (to a queue no worker reads) and read a job, so the first timed action
    does not pay for this process's first connection to the broker or its lazy imports."""
    from celery import current_app

    current_app.send_task(
        "data_exchange_tool.bench_warm_up",
        queue=f"{os.environ['DXT_BENCH_QUEUE_PREFIX']}_warm_up",
        ignore_result=True,
    )
    StockRecordImportJob.objects.exists()


def report_progress(mode: str, result: dict[str, Any]) -> None:
    for phase in ("preview", "import"):
        figures = result[phase]
        sys.stderr.write(
            f"  {mode} {phase:<8} {figures['rows']:>9,} rows  {figures['seconds']:>8.1f} s  "
            f"{figures['rows_per_second']:>9,.0f} rows/s  CPU {figures['cpu_seconds']:>6.1f} s "
            f"+ server {figures['server_cpu_seconds']:>6.1f} s  "
            f"peak {figures['peak_mb']:>5.0f} MB/process  tasks {tasks(figures['tasks'])}\n"
        )


# --- entry point ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the three runs, print the section and write it into ``bench/RESULTS.md``."""
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV")
    parser.add_argument(
        "--part-rows",
        type=int,
        help=f"DATA_EXCHANGE_PART_ROWS of the partitioned runs (default: rows / {DEFAULT_PARTS})",
    )
    parser.add_argument("--update-mode", action="store_true", help="add an update-mode import")
    parser.add_argument(
        "--deadline",
        type=float,
        help="seconds a phase may take before the bench fails (default: 600 + rows / 1,000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of the three runs, interleaved; the report takes each phase's fastest",
    )
    parser.add_argument(
        "--no-results-file", action="store_true", help="leave bench/RESULTS.md alone"
    )
    args = parser.parse_args(argv)
    part_rows = args.part_rows or -(-args.rows // DEFAULT_PARTS)
    # Generous: a 1M-row preview took 120 s on this 2-CPU machine under other work (30 s idle);
    # a failed job or a dead worker fails the bench at once anyway.
    deadline = args.deadline or 600 + args.rows / 1000
    log_dir = ROOT / ".artifacts" / f"bench-workers-{RUN_ID}"
    log_dir.mkdir(parents=True, exist_ok=True)
    sys.stderr.write(
        f"bench: workers on {settings.CELERY_BROKER_URL}, queues "
        f"{os.environ['DXT_BENCH_QUEUE_PREFIX']}_*, logs in {log_dir}\n"
    )
    prepare_database()
    path = data_file(args.rows, "csv")
    runs = configs(part_rows, log_dir)
    rounds: dict[str, list[dict[str, Any]]] = {config.label: [] for config in runs}
    try:
        warm_up()
        for number in range(1, args.repeat + 1):
            for config in runs:
                rounds[config.label].append(
                    run_config(config, path, deadline, args.update_mode, number)
                )
    finally:
        forget_queues()
    results = {
        config.label: {
            "title": config.title,
            "part_rows": config.part_rows,
            "result": best_of(rounds[config.label]),
        }
        for config in runs
    }
    peaks_reset = all(config["result"]["peaks_reset"] for config in results.values())
    text = section(results, path, part_rows, has_partitions(), peaks_reset, args.repeat)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    saved = RESULTS_DIR / f"{datetime.datetime.now(tz=datetime.UTC):%Y-%m-%d-%H%M}-workers.md"
    saved.write_text(text + "\n", encoding="utf-8")
    if not args.no_results_file:
        RESULTS_FILE.write_text(
            replace_section(RESULTS_FILE.read_text(encoding="utf-8"), text), encoding="utf-8"
        )
    sys.stdout.write(
        text
        + f"\n\nSaved to {saved.relative_to(ROOT)}"
        + ("" if args.no_results_file else " and bench/RESULTS.md")
        + "\n"
    )


def forget_queues() -> None:
    """Delete the run's queues from Redis, and their bindings (the workers' remote-control
    queues are bound to the shared ``celery.pidbox`` exchange: those members are removed)."""
    import redis

    prefix = os.environ["DXT_BENCH_QUEUE_PREFIX"]
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    with contextlib.suppress(redis.RedisError):
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        for key in client.scan_iter(match="_kombu.binding.*"):
            ours = [m for m in client.smembers(key) if prefix.encode() in m]
            if ours:
                client.srem(key, *ours)
    client.close()


if __name__ == "__main__":
    main()
