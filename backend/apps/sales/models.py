"""An invoice and the warehouse step it has reached."""

from __future__ import annotations

from django.db import models


class Invoice(models.Model):
    class Stage(models.TextChoices):
        # In workflow order: each step follows the one before it (services.STEPS).
        IMPORTED = "imported", "imported"
        PICKING_STARTED = "picking_started", "picking started"
        PICKING_COMPLETED = "picking_completed", "picking completed"
        PACKING_STARTED = "packing_started", "packing started"
        PACKING_COMPLETED = "packing_completed", "packing completed"
        DELIVERY_STARTED = "delivery_started", "delivery started"
        DELIVERY_COMPLETED = "delivery_completed", "delivery completed"

    number = models.CharField(max_length=50, unique=True)
    customer = models.CharField(max_length=200)
    # Where invoice emails go; blank for walk-in customers (the email job skips and reports them).
    customer_email = models.EmailField(blank=True, default="")
    total = models.DecimalField(max_digits=12, decimal_places=2)
    stage = models.CharField(max_length=24, choices=Stage.choices, default=Stage.IMPORTED)
    # When each step happened (the import is `created_at`).
    picking_started_at = models.DateTimeField(null=True, blank=True)
    picking_completed_at = models.DateTimeField(null=True, blank=True)
    packing_started_at = models.DateTimeField(null=True, blank=True)
    packing_completed_at = models.DateTimeField(null=True, blank=True)
    delivery_started_at = models.DateTimeField(null=True, blank=True)
    delivery_completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-pk",)
        indexes = [models.Index(fields=["stage"])]

    def __str__(self) -> str:
        return f"invoice {self.number} ({self.stage})"
