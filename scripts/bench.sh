#!/usr/bin/env bash
# make bench: time preview and import on PostgreSQL (bench/run.py) in a database of its own,
# created here and dropped on exit. Extra arguments go to bench/run.py (--help lists them).
# `--recovery [--rounds N]` instead measures how long until a killed worker's job is noticed
# (bench/recovery.py, through the real layer's dead-worker tests).
# `--workers [--rows N] [--part-rows N] [--update-mode] [--repeat N]` instead times the preview and
# the import on real Celery worker processes, one then two (bench/workers.py, #15; Redis on
# 127.0.0.1:6379).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin

if [[ "${1:-}" == "--recovery" ]]; then
  shift
  exec $BIN/python -m bench.recovery "$@"
fi
MODULE=bench.run
ARGS=()
for arg in "$@"; do
  if [[ "$arg" == "--workers" ]]; then MODULE=bench.workers; else ARGS+=("$arg"); fi
done
PG=(-h "${DXT_PG_HOST:-127.0.0.1}" -p "${DXT_PG_PORT:-5432}" -U "${DXT_PG_USER:-postgres}")

export DXT_BENCH_RUN_ID=${DXT_BENCH_RUN_ID:-$(python3 -c "import secrets; print(secrets.token_hex(4))")}
export DXT_BENCH_DB=${DXT_BENCH_DB:-dxt_bench_$DXT_BENCH_RUN_ID}
export DJANGO_SETTINGS_MODULE=bench.settings
# The process groups of worker processes bench/workers.py has running (it stops them itself;
# this is for when it dies first).
WORKER_PIDS=.artifacts/bench-workers-$DXT_BENCH_RUN_ID/workers.pid

cleanup() {
  if [[ -s "$WORKER_PIDS" ]]; then
    while read -r pgid; do kill -KILL -- "-$pgid" 2>/dev/null || true; done <"$WORKER_PIDS"
  fi
  psql "${PG[@]}" -qX -c "DROP DATABASE IF EXISTS $DXT_BENCH_DB WITH (FORCE)" >/dev/null
}
psql "${PG[@]}" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DXT_BENCH_DB"
trap cleanup EXIT
echo "bench: database $DXT_BENCH_DB" >&2
$BIN/python -m $MODULE ${ARGS[@]+"${ARGS[@]}"}
