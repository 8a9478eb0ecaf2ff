from dataclasses import dataclass
from typing import Any, ClassVar

from apps.realtime.events import Event, register_event


@register_event
@dataclass(kw_only=True)
class InvoiceUpdated(Event):
    type: ClassVar[str] = "invoice.updated"
    entity: ClassVar[str] = "invoice"
    description: ClassVar[str] = (
        "An invoice was imported or moved one step through the warehouse workflow. `action` is the step: "
        "imported, picking_started, picking_completed, packing_started, packing_completed, delivery_started, "
        "delivery_completed; `stage` is the invoice's stage after it."
    )
    example: ClassVar[dict[str, Any]] = {
        "action": "picking_started",
        "object_id": 7,
        "stage": "picking_started",
        "updated_by": "sam",
        "data": {
            "id": 7,
            "number": "INV-1001",
            "customer": "Acme Ltd",
            "customer_email": "billing@acme.example",
            "total": "1250.00",
            "stage": "picking_started",
            "picking_started_at": "2026-11-21T12:34:56.789Z",
            "picking_completed_at": None,
            "packing_started_at": None,
            "packing_completed_at": None,
            "delivery_started_at": None,
            "delivery_completed_at": None,
            "created_at": "2026-11-21T12:30:00.000Z",
            "updated_at": "2026-11-21T12:34:56.789Z",
        },
    }

    stage: str
