"""The dashboard's one event: the KPIs, whole, each time they change."""

from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event


@register_event
@dataclass(kw_only=True)
class DashboardUpdated(Event):
    type: ClassVar[str] = "dashboard.updated"
    entity: ClassVar[str] = "dashboard"
    description: ClassVar[str] = (
        "The live KPIs changed; `data` is the whole dashboard, as `GET /api/dashboard/` returns it. "
        "Published at most about once a second, always including the latest change. `invoices` and "
        "`jobs_running` are null where the sales or progress app is not installed."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "updated",
        "object_id": "main",
        "updated_by": None,
        "data": {
            "requests": [
                {
                    "unit_id": 1,
                    "unit": "North",
                    "by_status": {
                        "pending": 2,
                        "approved": 1,
                        "rejected": 1,
                        "sent_back": 0,
                        "issued": 1,
                        "returned": 0,
                    },
                },
            ],
            "invoices": {"imported": 2, "picking": 1, "delivered": 3},
            "jobs_running": 1,
            "submissions_waiting": 4,
            "notifications": {"pending": 0, "failed": 1},
        },
    }
