"""
Control messages between server processes. `revalidate_user` tells every process to re-check
the open sockets and SSE responses of one user (deactivated, removed from a unit, role
changed): each closes 4401 or drops the streams the user may no longer read, within moments.
`disconnect_user` tells every process to end that user's sockets (4401) and SSE responses.
"""

from __future__ import annotations

import json
import logging

from django.db import transaction

from .transport import CONTROL_STREAM, get_transport

logger = logging.getLogger(__name__)


def send(body: dict[str, object]) -> None:
    """To every process's hub, now. Raises when the transport is unreachable."""
    get_transport().send({"stream": CONTROL_STREAM, "id": "0-0", "prev": None, "frame": json.dumps(body)})


def _send_or_log(body: dict[str, object]) -> None:
    try:
        send(body)
    except Exception as exc:  # Redis away: the socket still closes when its token expires
        logger.warning("could not send control message %s: %s", body, exc)


def revalidate_user(user_id: int) -> None:
    """After commit, make every process re-check this user's connections."""
    transaction.on_commit(lambda: _send_or_log({"kind": "revalidate", "user_id": user_id}))


def disconnect_user(user_id: int, reason: str = "disconnected by an operator") -> None:
    """Now: every process ends this user's sockets (4401, `reason`) and SSE responses.
    Raises when the transport is unreachable."""
    send({"kind": "disconnect", "user_id": user_id, "reason": reason})
