"""
Coalescing: run an action soon after something changed, at most once per interval.

The dashboard's KPIs change in bursts (an import touches fifty invoices, a job ticks);
clients need the latest numbers, not every intermediate one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import connections

logger = logging.getLogger(__name__)


def no_wait() -> int:
    return 0


class Coalescer:
    """
    `mark()` says something changed; `action` then runs in a timer thread:

    - the first mark after a quiet period runs it at once;
    - marks during a run, or within `interval` seconds after one started, are folded into
      one more run when the interval is over, so the last change is always covered;
    - `wait_ms()` lets several processes share the spacing: it returns 0 when this process
      may run the action now, else the milliseconds to wait (see services.RedisGate);
    - an action that raises is logged and run again after the interval (Redis may be back),
      up to `retries` times in a row; then it waits for the next mark.
    """

    def __init__(
        self, action: Callable[[], object], interval: float, wait_ms: Callable[[], int] = no_wait, retries: int = 3
    ) -> None:
        self.action, self.interval, self.wait_ms, self.retries = action, interval, wait_ms, retries
        self._failures = 0  # runs in a row that raised
        self._lock = threading.Condition()
        self._dirty = False
        self._running = False
        self._timer: threading.Timer | None = None
        self._generation = 0  # which scheduled timer is the live one
        self._next_at = 0.0  # time.monotonic() before which the action does not run again

    def mark(self) -> None:
        with self._lock:
            self._dirty = True
            if self._timer is None and not self._running:
                self._schedule(self._next_at - time.monotonic())

    def reset(self) -> None:
        """Wait for a run in progress, drop pending work, forget the last run (tests that
        switch settings or need a quiet start)."""
        with self._lock:
            self._lock.wait_for(lambda: not self._running)
            self._cancel()
            self._dirty = False
            self._next_at = 0.0

    def _schedule(self, delay: float) -> None:
        self._cancel()
        self._timer = threading.Timer(max(0.0, delay), self._fire, args=(self._generation,))
        self._timer.daemon = True
        self._timer.start()

    def _cancel(self) -> None:
        self._generation += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self, generation: int) -> None:
        try:
            wait = self.wait_ms()
        except Exception as exc:  # the shared gate is away: run anyway, the action reports its own errors
            logger.warning("coalescing gate unavailable (%s); running without it", exc)
            wait = 0
        with self._lock:
            if generation != self._generation:
                return  # cancelled after it had started
            self._timer = None
            if not self._dirty:
                return
            if wait > 0:
                self._schedule(wait / 1000)
                return
            self._dirty, self._running = False, True
            self._next_at = time.monotonic() + self.interval
        retry = False
        name = getattr(self.action, "__name__", repr(self.action))
        try:
            self.action()
            self._failures = 0
        except Exception as exc:
            self._failures += 1
            retry = self._failures <= self.retries
            if retry:
                logger.warning("%s failed (%s); trying again in %.1fs", name, exc, self.interval)
            else:
                logger.exception("%s failed %d times; waiting for the next change", name, self._failures)
                self._failures = 0
        finally:
            connections.close_all()  # this timer thread's own database connection
            with self._lock:
                self._running = False
                self._dirty = self._dirty or retry
                if self._dirty and self._timer is None:
                    self._schedule(self._next_at - time.monotonic())
                self._lock.notify_all()
