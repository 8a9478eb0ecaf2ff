from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event


@register_event
@dataclass(kw_only=True)
class StorageUpdated(Event):
    type: ClassVar[str] = "storage.updated"
    entity: ClassVar[str] = "storage"
    description: ClassVar[str] = "A storage location was created or edited (action `created` or `updated`)."
    example: ClassVar[dict[str, Any]] = {
        "action": "updated",
        "object_id": 3,
        "updated_by": "nina",
        "data": {
            "id": 3,
            "unit": 1,
            "name": "Basement A",
            "location": "Building 1",
            "capacity": 120,
            "updated_at": "2026-11-21T12:34:56.789Z",
        },
    }
