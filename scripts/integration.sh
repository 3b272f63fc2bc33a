#!/usr/bin/env bash
# The real test layer: PostgreSQL, Redis as broker, a Celery worker process (and workers killed on
# Redis and RabbitMQ), S3 through moto's server, the admin in Chromium. Everything is named after
# DXT_RUN_ID (database, Redis database, RabbitMQ virtual host, queues) and the ports are picked
# free, so parallel runs do not meet.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin

export DXT_RUN_ID=${DXT_RUN_ID:-$(python3 -c "import secrets; print(secrets.token_hex(4))")}
export DXT_REDIS_DB=${DXT_REDIS_DB:-$(( 16#${DXT_RUN_ID:0:4} % 15 + 1 ))}
export DXT_MOTO_PORT=${DXT_MOTO_PORT:-$($BIN/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
export DXT_ARTIFACTS=${DXT_ARTIFACTS:-$PWD/.artifacts/$DXT_RUN_ID}
export AWS_EC2_METADATA_DISABLED=true
mkdir -p "$DXT_ARTIFACTS"

$BIN/moto_server -H 127.0.0.1 -p "$DXT_MOTO_PORT" >"$DXT_ARTIFACTS/moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
deadline=$((SECONDS + 30))
until curl -sf "http://127.0.0.1:$DXT_MOTO_PORT/moto-api/" >/dev/null 2>&1; do
  if ((SECONDS > deadline)); then echo "moto_server did not start" >&2; cat "$DXT_ARTIFACTS/moto.log" >&2; exit 1; fi
  sleep 0.2
done

echo "integration: run $DXT_RUN_ID, redis db $DXT_REDIS_DB, moto on $DXT_MOTO_PORT, artifacts in $DXT_ARTIFACTS"
# Without a test path in the arguments, run the whole real layer.
case " $* " in *" tests/"*) ;; *) set -- tests/integration "$@" ;; esac
$BIN/pytest --ds=tests.settings_integration "$@"
