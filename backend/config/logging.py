"""
Log output for operators: a one-object-per-line JSON formatter (`LOG_FORMAT=json`, for log
shippers) and the ASGI server's access log, written through Python logging so that the
format and the `redact_tokens` filter of settings.LOGGING apply to it too.

The access log never carries the query string: tokens and tickets travel there
(`?token=`, `?ticket=`), and Daphne's own access log prints it (docs/security.md).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from apps.realtime.redaction import redact

ACCESS_LOGGER = "syncline.access"
access_logger = logging.getLogger(ACCESS_LOGGER)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is
# written as a field of its own.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, `extra=` fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            # The redact_tokens filter cleans the message only; a traceback can quote a URL too.
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def without_query(path: str) -> str:
    return path.split("?", 1)[0]


def log_access(protocol: str, action: str, details: dict[str, Any]) -> None:
    """Daphne's action logger interface: one line per HTTP response and WebSocket event."""
    client = details.get("client") or "-"
    path = without_query(str(details.get("path", "")))
    if protocol == "http" and action == "complete":
        method, status, size = details.get("method", "-"), details.get("status"), details.get("size")
        duration = float(details.get("time_taken") or 0)
        access_logger.info(
            "%s %s %s %s %s %.3fs",
            client,
            method,
            path,
            status,
            size,
            duration,
            extra={"client": client, "method": method, "path": path, "status": status, "duration": duration},
        )
    elif protocol == "websocket" and action in {"connected", "rejected", "disconnected"}:
        event = {"connected": "WSCONNECT", "rejected": "WSREJECT", "disconnected": "WSDISCONNECT"}[action]
        access_logger.info("%s %s %s", client, event, path, extra={"client": client, "method": event, "path": path})
