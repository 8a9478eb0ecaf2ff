"""Limits of a connection: a socket's inbound token bucket (applied where frames arrive:
the socket's writer counts them under Daphne, daphne.py), and the number of connections
one user may hold (taken and given back through connection.py)."""

from __future__ import annotations

import threading
import time
from collections import Counter

from .conf import realtime_settings


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


class UserConnections:
    """The connections each user holds in this process, sockets and SSE responses alike: at
    most `REALTIME["MAX_SOCKETS_PER_USER"]` (past it a socket is closed 4429, an SSE request
    answered 429)."""

    def __init__(self) -> None:
        self.open: Counter[int] = Counter()
        self._lock = threading.Lock()  # a slot may be given back by the garbage collector

    def take(self, user_id: int) -> bool:
        with self._lock:
            if self.open[user_id] >= realtime_settings.MAX_SOCKETS_PER_USER:
                return False
            self.open[user_id] += 1
            return True

    def give_back(self, user_id: int) -> None:
        with self._lock:
            self.open[user_id] -= 1
            if self.open[user_id] <= 0:
                del self.open[user_id]


per_user = UserConnections()
