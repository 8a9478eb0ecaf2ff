"""Inbound limits of a socket: a token bucket, applied where frames arrive."""

from __future__ import annotations

import time
from typing import Any

from . import metrics
from .writer import daphne_protocol

TOO_MANY = 4429


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def limit_inbound_at_protocol(send: Any, bucket: TokenBucket) -> bool:
    """Under Daphne, count frames as they arrive, before Daphne queues them for the
    application (its queue has no bound: a flood would grow the server while the consumer
    catches up). Past the limit the socket is closed 4429 and further frames are dropped.
    Returns False under other servers, where the consumer counts them itself."""
    protocol = daphne_protocol(send)
    if protocol is None:
        return False
    deliver = protocol.onMessage

    def on_message(payload: bytes, is_binary: bool) -> None:
        if bucket.take():
            deliver(payload, is_binary)
        elif protocol.state == protocol.STATE_OPEN:
            metrics.closes.inc(str(TOO_MANY))
            protocol.sendClose(code=TOO_MANY, reason="too many messages")

    protocol.onMessage = on_message
    return True
