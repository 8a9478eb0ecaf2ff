from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event


@register_event
@dataclass(kw_only=True)
class AuditCreated(Event):
    type: ClassVar[str] = "audit.created"
    entity: ClassVar[str] = "audit"
    description: ClassVar[str] = "A change to a request, crate or storage location was recorded."
    example: ClassVar[dict[str, Any]] = {
        "action": "created",
        "object_id": 7,
        "updated_by": "alice",
        "data": {
            "id": 7,
            "unit": 1,
            "actor": "alice",
            "action": "approved",
            "object_type": "request",
            "object_id": 42,
            "changes": {"status": ["pending", "approved"]},
            "created_at": "2026-11-21T12:34:56.789Z",
        },
    }
