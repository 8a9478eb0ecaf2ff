"""
Control messages between server processes. `revalidate_user` tells every process to re-check
the open sockets and SSE responses of one user (deactivated, removed from a unit, role
changed): each closes 4401 or drops the streams the user may no longer read, within moments.
"""

from __future__ import annotations

import json
import logging

from django.db import transaction

from .transport import CONTROL_STREAM, get_transport

logger = logging.getLogger(__name__)


def _send(body: dict[str, object]) -> None:
    try:
        get_transport().send({"stream": CONTROL_STREAM, "id": "0-0", "prev": None, "frame": json.dumps(body)})
    except Exception as exc:  # Redis away: the socket still closes when its token expires
        logger.warning("could not send control message %s: %s", body, exc)


def revalidate_user(user_id: int) -> None:
    """After commit, make every process re-check this user's connections."""
    transaction.on_commit(lambda: _send({"kind": "revalidate", "user_id": user_id}))
