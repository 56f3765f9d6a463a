#!/usr/bin/env bash
# Serve Sonae on HOST:PORT (ASGI, so WebSockets work) with a Procrastinate worker beside it.
# Both stop together on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:-127.0.0.1}
port=${2:-8000}

.venv/bin/python manage.py procrastinate worker &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM

echo
echo "Sonae is at http://$host:$port/  (API docs: http://$host:$port/api/docs, admin: http://$host:$port/admin/)"
echo
# Each web process keeps a few database connections open (see DB_POOL_SIZE in README.md).
DB_POOL_SIZE=${DB_POOL_SIZE:-4} .venv/bin/uvicorn disaster.asgi:application --host "$host" --port "$port" \
  --workers "${WEB_CONCURRENCY:-1}" --no-access-log --lifespan off
