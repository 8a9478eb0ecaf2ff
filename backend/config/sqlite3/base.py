"""
Django's SQLite backend, switching the database file to WAL mode once per process.

WAL mode lets readers go on beside a writer, and it is a property of the file: set once, it
stays. Setting it in every connection's `init_command` raced: when a file not yet in WAL mode
is opened by several threads at once, the connections that lose the switch fail at once with
"database is locked" (SQLite's busy timeout does not cover it), and a handshake or request
that opened such a connection failed. Here one thread of a process switches, and waits its
turn while another process holds the lock.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

from django.db.backends.sqlite3 import base

SWITCH_TIMEOUT = 20.0  # seconds, as the busy timeout of the settings
_lock = threading.Lock()
_in_wal_mode: set[str] = set()  # database files this process has switched


def use_wal(connection: sqlite3.Connection, timeout: float = SWITCH_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            # Returns the mode now in force: "wal", or "memory" for an in-memory database.
            connection.execute("PRAGMA journal_mode=WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: Any) -> Any:
        connection = super().get_new_connection(conn_params)
        name = str(self.settings_dict["NAME"])
        if name not in _in_wal_mode:
            with _lock:
                if name not in _in_wal_mode:
                    use_wal(connection)
                    _in_wal_mode.add(name)
        return connection
