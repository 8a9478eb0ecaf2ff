#!/usr/bin/env bash
# Production launcher for the ASGI app (Procfile, supervisor, systemd, docker compose).
#   ASGI_SERVER=daphne (default) | uvicorn
#   HOST, PORT (default 127.0.0.1:8000), or BIND_UNIX=/path/to/socket
#   WEB_CONCURRENCY: server processes on this one port (default 1). Daphne: processes sharing
#     the listening socket (TCP only); uvicorn: --workers. To scrape every process's /metrics,
#     prefer one process per port or socket (deploy/supervisor/, deploy/systemd/).
#   ACCESS_LOG=0 turns Daphne's access log off (uvicorn's is always off).
# SIGTERM stops gracefully: WebSockets are closed with 1012 and clients resume elsewhere.
# Access logs carry no query string (tokens travel there): see docs/security.md.
set -euo pipefail
cd "$(dirname "$0")/backend"
PY="${PYTHON:-$( [ -x ../.venv/bin/python ] && echo ../.venv/bin/python || echo python3 )}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
WEB_CONCURRENCY="${WEB_CONCURRENCY:-1}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.production}"
case "${ASGI_SERVER:-daphne}" in
  daphne)
    if [ -n "${BIND_UNIX:-}" ]; then bind=(--unix "$BIND_UNIX"); else bind=(--bind "$HOST" --port "$PORT"); fi
    # Verbosity 1 turns the access log on; config.serve writes it through logging, without query strings.
    if [ "${ACCESS_LOG:-1}" = 0 ]; then verbosity=0; else verbosity=1; fi
    exec "$PY" -m config.serve --workers "$WEB_CONCURRENCY" "${bind[@]}" -v "$verbosity" --proxy-headers \
      --application-close-timeout 5 config.asgi:application ;;
  uvicorn)
    if [ -n "${BIND_UNIX:-}" ]; then bind=(--uds "$BIND_UNIX"); else bind=(--host "$HOST" --port "$PORT"); fi
    exec "$PY" -m uvicorn "${bind[@]}" --workers "$WEB_CONCURRENCY" --proxy-headers --no-access-log \
      --timeout-graceful-shutdown 10 config.asgi:application ;;
  *) echo "ASGI_SERVER must be daphne or uvicorn, got '${ASGI_SERVER}'" >&2; exit 2 ;;
esac
