#!/usr/bin/env bash
# Serve Sonae on HOST:PORT (ASGI, so WebSockets work) with a Procrastinate worker beside it:
# the Procfile's two processes under honcho, which stops both together on Ctrl-C. The worker
# runs inside scripts/respawn.sh, so one that crashed or was killed is started again (honcho
# alone would stop the web server with it), and it outlives a database restart by itself
# (manage.py run_worker). Production runs the same two under systemd (scripts/systemd/).
set -euo pipefail
cd "$(dirname "$0")/.."
export HOST=${1:-127.0.0.1}
port=${2:-8000}

# SERVE_WORKER=0 serves the web process alone (the flood test runs the server as here).
processes=()
if [[ "${SERVE_WORKER:-1}" != 1 ]]; then
  processes=(web)
fi

echo
echo "Sonae is at http://$HOST:$port/  (API docs: http://$HOST:$port/api/docs, admin: http://$HOST:$port/admin/)"
echo
# Each web process keeps a few database connections open (see DB_POOL_SIZE in README.md).
# The Procfile's web line passes --no-proxy-headers: uvicorn would otherwise believe any
# X-Forwarded-For sent from loopback; the app believes it only from TRUSTED_PROXIES
# (disaster/core/clients.py).
exec .venv/bin/honcho start --no-colour --port "$port" "${processes[@]}"
