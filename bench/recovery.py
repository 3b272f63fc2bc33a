"""
``bash scripts/bench.sh --recovery [--rounds N]``: how long until a dead worker's job is noticed.

Runs the real layer's dead-worker tests (``tests/integration/test_dead_workers.py``: worker
processes SIGKILLed mid-import and mid-preview against PostgreSQL, Redis and RabbitMQ) ``--rounds``
times, collects the delays each test records (from the kill to what noticed it: a confirm on the
same target, the reaper, RabbitMQ's redelivery, a worker that starts, a prefork pool requeueing
its task) and prints min / median / max per case as markdown, saved to
``bench/results/recovery-<date>.md``. The delays that follow from settings rather than from a
measurement (the heartbeat, Redis' visibility timeout, the reaper's schedule) are listed after.

It needs what the real layer needs (``make services``); it uses no benchmark database.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
TESTS = "tests/integration/test_dead_workers.py"

SETTLED_BY_SETTINGS = """\
Delays set by configuration, not measured:

- no PostgreSQL (or `DATA_EXCHANGE_ADVISORY_LOCKS = False`): a dead job is known once its
  heartbeat is `DATA_EXCHANGE_HEARTBEAT_TIMEOUT` old (900 s by default), then failed by the next
  confirm on its target or the next run of the reaper;
- Redis, the whole worker killed and not restarted: its unacknowledged task comes back after the
  transport's `visibility_timeout` (3,600 s by default), restored by a running worker's periodic
  sweep (every `unacked_restore_interval` x `unacked_restore_throttle` = 100 s by default);
- the reaper (celery beat or cron) fails a dead job at its next run: within its period.
"""


def run_round(number: int) -> list[dict]:
    """Run the dead-worker tests once; return the delays they recorded."""
    with tempfile.TemporaryDirectory(prefix="dxt-recovery-") as artifacts:
        env = {**os.environ, "DXT_ARTIFACTS": artifacts}
        env.pop("DXT_RUN_ID", None)
        done = subprocess.run(
            ["bash", "scripts/integration.sh", TESTS, "-q", "-p", "no:randomly"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            raise SystemExit(f"bench: recovery round {number} failed")
        lines = Path(artifacts, "recovery.jsonl").read_text(encoding="utf-8").splitlines()
    figures = [json.loads(line) for line in lines]
    sys.stderr.write(f"bench: recovery round {number}: {len(figures)} delays\n")
    return figures


def report(figures: list[dict], rounds: int) -> str:
    """Return the markdown report of the delays, by case."""
    by_case: dict[str, list[float]] = defaultdict(list)
    for figure in figures:
        by_case[figure["case"]].append(figure["seconds"])
    lines = [
        f"# Recovery {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"{rounds} round(s) of `{TESTS}`; seconds from the SIGKILL to what noticed it.",
        "",
        "| case | n | min s | median s | max s |",
        "|---|---|---|---|---|",
    ]
    for case, seconds in by_case.items():
        lines.append(
            f"| {case} | {len(seconds)} | {min(seconds):.3f} | "
            f"{statistics.median(seconds):.3f} | {max(seconds):.3f} |"
        )
    return "\n".join([*lines, "", SETTLED_BY_SETTINGS])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times the tests run (default 3)")
    args = parser.parse_args()
    figures = [figure for n in range(1, args.rounds + 1) for figure in run_round(n)]
    text = report(figures, args.rounds)
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"recovery-{datetime.datetime.now(datetime.UTC):%Y%m%d-%H%M}.md"
    path.write_text(text, encoding="utf-8")
    sys.stderr.write(f"bench: saved {path.relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
