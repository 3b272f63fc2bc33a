#!/usr/bin/env bash
# make bench: time preview and import on PostgreSQL (bench/run.py) in a database of its own,
# created here and dropped on exit. Extra arguments go to bench/run.py (--help lists them).
# `--recovery [--rounds N]` instead measures how long until a killed worker's job is noticed
# (bench/recovery.py, through the real layer's dead-worker tests).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin

if [[ "${1:-}" == "--recovery" ]]; then
  shift
  exec $BIN/python -m bench.recovery "$@"
fi
PG=(-h "${DXT_PG_HOST:-127.0.0.1}" -p "${DXT_PG_PORT:-5432}" -U "${DXT_PG_USER:-postgres}")

export DXT_BENCH_DB=${DXT_BENCH_DB:-dxt_bench_$(python3 -c "import secrets; print(secrets.token_hex(4))")}
export DJANGO_SETTINGS_MODULE=bench.settings

psql "${PG[@]}" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DXT_BENCH_DB"
trap 'psql "${PG[@]}" -qX -c "DROP DATABASE IF EXISTS $DXT_BENCH_DB WITH (FORCE)" >/dev/null' EXIT
echo "bench: database $DXT_BENCH_DB" >&2
$BIN/python -m bench.run "$@"
