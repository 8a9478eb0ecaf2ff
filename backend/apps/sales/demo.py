"""Demo invoices for `seed_demo`: a few at different steps of the workflow. Idempotent."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from .models import Invoice

# number: (customer, email, total, stage reached)
DEMO_INVOICES: dict[str, tuple[str, str, str, str]] = {
    "INV-1001": ("Acme Ltd", "billing@acme.example", "1250.00", Invoice.Stage.IMPORTED),
    "INV-1002": ("Globex GmbH", "ap@globex.example", "310.40", Invoice.Stage.PICKING_STARTED),
    "INV-1003": ("Walk-in customer", "", "42.99", Invoice.Stage.PACKING_COMPLETED),
    "INV-1004": ("Initech AB", "invoices@initech.example", "9800.00", Invoice.Stage.DELIVERY_COMPLETED),
    "INV-1005": ("Umbrella plc", "finance@umbrella.example", "575.25", Invoice.Stage.IMPORTED),
}


def seed_invoices() -> None:
    """Create the demo invoices that do not exist yet (existing ones are left as they are)."""
    steps = list(Invoice.Stage.values)
    now = timezone.now()
    for number, (customer, email, total, stage) in DEMO_INVOICES.items():
        if Invoice.objects.filter(number=number).exists():
            continue
        done = steps[1 : steps.index(stage) + 1]
        Invoice.objects.create(
            number=number,
            customer=customer,
            customer_email=email,
            total=Decimal(total),
            stage=stage,
            **{f"{step}_at": now for step in done},
        )
