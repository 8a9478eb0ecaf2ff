"""The operations page's one event: every process's figures, aggregated, when they change."""

from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event


@register_event
@dataclass(kw_only=True)
class OpsUpdated(Event):
    type: ClassVar[str] = "ops.updated"
    entity: ClassVar[str] = "ops"
    description: ClassVar[str] = (
        "The real-time layer's figures changed; `data` is the whole snapshot, as `GET /api/ops/` "
        "returns it. One process publishes it (under a Redis lock) every couple of seconds while "
        "the figures change."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "updated",
        "object_id": "main",
        "updated_by": None,
        "data": {
            "processes": [{"process": "web-1:4711", "connections": {"requests": 12, "multiplexed": 30}, "streams": 14}],
            "connections": {"requests": 12, "multiplexed": 30},
            "streams": [{"stream": "requests.unit.1", "subscribers": 9, "presence": 4}],
            "outbox_backlog": 0,
        },
    }
