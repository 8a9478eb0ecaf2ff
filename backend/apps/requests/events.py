from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event


@register_event
@dataclass(kw_only=True)
class RequestUpdated(Event):
    type: ClassVar[str] = "request.updated"
    entity: ClassVar[str] = "request"
    description: ClassVar[str] = (
        "A request was created or changed. `action`: created, updated, approved, rejected, "
        "sent_back, storage_allocated, issued, returned."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "approved",
        "object_id": 42,
        "status": "approved",
        "updated_by": "alice",
        "data": {
            "id": 42,
            "unit": 1,
            "request_type": "storage",
            "title": "Archive 2019 invoices",
            "crate": None,
            "storage": None,
            "status": "approved",
            "requester": "bob",
            "reason": "",
            "comment": "",
            "created_at": "2026-11-21T12:30:00.000Z",
            "updated_at": "2026-11-21T12:34:56.789Z",
        },
    }

    status: str
