"""Keeps credentials out of logs: `token=`, `ticket=` and bearer values become `[redacted]`."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(?i)((?:token|ticket|access|refresh)=)[^&\s\"']+|(Bearer\s+)[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "[redacted]", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
