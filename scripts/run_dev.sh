#!/usr/bin/env bash
# `make run`: the ASGI server, plus a Celery worker when a broker is configured
# (REDIS_URL or CELERY_BROKER_URL); in the embedded default tasks run in the server process.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${REDIS_URL:-}${CELERY_BROKER_URL:-}" ]; then
  (cd backend && exec ../.venv/bin/celery -A config worker --loglevel INFO --concurrency 2) &
  worker=$!
  trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
  echo "Celery worker started (pid $worker)"
fi
echo "Serving on http://${HOST:-127.0.0.1}:${PORT:-8000}  (wscat: see README)"
./run_asgi.sh
