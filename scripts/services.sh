#!/usr/bin/env bash
# Start PostgreSQL, Redis and RabbitMQ on their default local addresses when they are not
# running (as root on this machine kind: Debian with the three servers installed). Idempotent
# and silent when all are up; safe when two runs start it at once. `make test` calls it.
set -euo pipefail

wait_until() {  # wait_until SECONDS WHAT COMMAND...: poll once a second
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq "$seconds"); do
    "$@" && return 0
    sleep 1
  done
  echo "$what did not come up within $seconds s" >&2
  return 1
}

postgres_up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
rabbitmq_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! postgres_up; then
  echo "starting PostgreSQL"
  # A concurrent start of the same cluster fails ("already running"); readiness decides.
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_until 30 PostgreSQL postgres_up
fi

if ! redis_up; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_until 30 Redis redis_up
fi

if ! rabbitmq_up; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_until 90 RabbitMQ rabbitmq_up
fi
