#!/usr/bin/env bash
# Install (when missing) and start what the real test layer needs: PostgreSQL, Redis, RabbitMQ
# (the broker the dead-worker tests need: it redelivers a killed worker's task at once) and
# Debian's Chromium. Idempotent: a service already running is left alone.
set -euo pipefail

need_apt=()
command -v pg_ctlcluster >/dev/null || need_apt+=(postgresql)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v rabbitmq-server >/dev/null || need_apt+=(rabbitmq-server)
command -v chromium >/dev/null || need_apt+=(chromium)
if ((${#need_apt[@]})); then
  echo "services: installing ${need_apt[*]} (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no
fi

if ! rabbitmqctl status >/dev/null 2>&1; then
  rabbitmq-server -detached
fi

PGVER=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_ctlcluster --skip-systemctl-redirect "$PGVER" main status >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$PGVER" main start
fi

deadline=$((SECONDS + 60))
until pg_isready -q -h 127.0.0.1 && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; do
  if ((SECONDS > deadline)); then
    echo "services: PostgreSQL or Redis did not start within 60 s" >&2
    exit 1
  fi
  sleep 0.2
done
deadline=$((SECONDS + 120))
until rabbitmqctl status >/dev/null 2>&1; do
  if ((SECONDS > deadline)); then
    echo "services: RabbitMQ did not start within 120 s" >&2
    exit 1
  fi
  sleep 0.5
done
if ! psql -h 127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1; then
  HBA=$(ls /etc/postgresql/"$PGVER"/main/pg_hba.conf)
  sed -i '1i host all all 127.0.0.1/32 trust' "$HBA"
  pg_ctlcluster --skip-systemctl-redirect "$PGVER" main reload
fi
echo "services: PostgreSQL $PGVER, Redis and RabbitMQ are up; chromium at $(command -v chromium)"
