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


@register_event
@dataclass(kw_only=True)
class CommentCreated(Event):
    type: ClassVar[str] = "comment.created"
    entity: ClassVar[str] = "comment"
    description: ClassVar[str] = (
        "A member of the request's unit commented on it (`POST /api/requests/{id}/comments/`, or "
        "`comment.create` over a socket). `data` is the comment as the comments endpoint lists it."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "created",
        "object_id": 7,
        "request_id": 42,
        "updated_by": "alice",
        "data": {
            "id": 7,
            "request": 42,
            "author": "alice",
            "body": "Crate 12 is in the basement.",
            "created_at": "2026-11-21T12:34:56.789Z",
        },
    }

    request_id: int
