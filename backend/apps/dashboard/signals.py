"""
Changes made outside this project's dashboard-aware services still reach the dashboard:
requests (apps.requests), invoices (apps.sales) and jobs (apps.progress), when those apps
are installed. Our own apps (academy, notifications) call `notify_dashboard()` from their
services instead.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from .selectors import optional_model
from .services import notify_dashboard

KPI_SOURCES = (("requests", "Request"), ("sales", "Invoice"), ("progress", "Job"))


def connect_kpi_sources() -> None:
    for app_label, model_name in KPI_SOURCES:
        model = optional_model(app_label, model_name)
        if model is not None:
            post_save.connect(kpi_source_changed, sender=model, dispatch_uid=f"dashboard.{app_label}.save")
            post_delete.connect(kpi_source_changed, sender=model, dispatch_uid=f"dashboard.{app_label}.delete")


def kpi_source_changed(sender: Any, **kwargs: Any) -> None:
    notify_dashboard()
