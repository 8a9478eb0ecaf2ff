"""
The invoice workflow. An invoice is imported, then moves through the warehouse one step at
a time, in this order:

    imported -> picking_started -> picking_completed -> packing_started
             -> packing_completed -> delivery_started -> delivery_completed

Each change saves the invoice and publishes `invoice.updated` (action = the step) on the
`invoices` stream after commit. A step out of order answers 409 and publishes nothing; so
does importing a number that exists already. Any signed-in user may move invoices.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound

from apps.core.api import Conflict, represent
from apps.realtime.publish import publish_on_commit

from .events import InvoiceUpdated
from .models import Invoice
from .serializers import InvoiceSerializer
from .streams import invoices

Stage = Invoice.Stage
STEPS: tuple[str, ...] = tuple(Stage.values)


def _publish(invoice: Invoice, actor: Any) -> None:
    publish_on_commit(
        invoices.name(),
        InvoiceUpdated(
            action=invoice.stage,
            object_id=invoice.pk,
            stage=invoice.stage,
            data=represent(InvoiceSerializer, invoice),
            updated_by=actor.username if actor is not None else None,
        ),
    )


def invoice_import(*, actor: Any, number: str, customer: str, total: Decimal, customer_email: str = "") -> Invoice:
    """A new invoice at the start of the workflow; 409 when the number exists already."""
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                number=number, customer=customer, customer_email=customer_email, total=total
            )
            _publish(invoice, actor)
    except IntegrityError:
        if Invoice.objects.filter(number=number).exists():
            raise Conflict(f"invoice {number} has been imported already") from None
        raise
    return invoice


@transaction.atomic
def invoice_advance(*, actor: Any, invoice_id: int, stage: str) -> Invoice:
    """Move an invoice to `stage`, which must be the step right after its current one."""
    invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id}")
    current = STEPS.index(invoice.stage)
    if current + 1 >= len(STEPS) or STEPS[current + 1] != stage:
        expected = STEPS[current + 1] if current + 1 < len(STEPS) else "nothing (delivered)"
        raise Conflict(f"invoice {invoice.number} is {invoice.stage}: cannot go to {stage}; next is {expected}")
    invoice.stage = stage
    setattr(invoice, f"{stage}_at", timezone.now())
    invoice.save()
    _publish(invoice, actor)
    return invoice
