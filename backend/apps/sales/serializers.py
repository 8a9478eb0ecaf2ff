from decimal import Decimal
from typing import Any

from rest_framework import serializers

from apps.core.api import IdField, StrictInput

from .models import Invoice


class InvoiceSerializer(serializers.ModelSerializer[Invoice]):
    # Blank when the invoice has no address, so not described as an email.
    customer_email = serializers.CharField(read_only=True)

    class Meta:
        model = Invoice
        fields = (
            "id",
            "number",
            "customer",
            "customer_email",
            "total",
            "stage",
            "picking_started_at",
            "picking_completed_at",
            "packing_started_at",
            "packing_completed_at",
            "delivery_started_at",
            "delivery_completed_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class InvoiceImportSerializer(StrictInput):
    # Uniqueness of `number` is the service's (409), not a validation error.
    number = serializers.CharField(max_length=50)
    customer = serializers.CharField(max_length=200)
    customer_email = serializers.EmailField(required=False, allow_blank=True, default="")
    total = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))


class InvoiceStepSerializer(StrictInput):
    invoice_id = IdField()


class InvoiceFilters(serializers.Serializer[Any]):
    """`GET /api/sales/invoices/?stage=`."""

    stage = serializers.ChoiceField(choices=Invoice.Stage.choices, required=False, allow_blank=True)
