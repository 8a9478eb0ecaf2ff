"""
The dashboard's KPIs, read from the database when they are published or asked for.

Invoices and jobs belong to the sales and progress apps, which a deployment may not have:
their models are looked up through the app registry, and their KPIs are None without them.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Model

from apps.academy.models import Submission
from apps.accounts.models import Unit
from apps.notifications.models import Notification
from apps.requests.models import Request

# Where an optional app's model keeps the state the dashboard counts, in order of preference.
INVOICE_STAGE_FIELDS = ("stage", "status")
JOB_RUNNING = "started"


def dashboard_kpis() -> dict[str, Any]:
    return {
        "requests": requests_by_unit(),
        "invoices": invoices_by_stage(),
        "jobs_running": jobs_running(),
        "submissions_waiting": Submission.objects.filter(status=Submission.Status.WAITING).count(),
        "notifications": {
            state: Notification.objects.filter(status=state).count()
            for state in (Notification.Status.PENDING, Notification.Status.FAILED)
        },
    }


def requests_by_unit() -> list[dict[str, Any]]:
    """Every unit with its requests counted per status (zeros included)."""
    counts: dict[tuple[int, str], int] = {
        (row["unit_id"], row["status"]): row["n"]
        for row in Request.objects.order_by().values("unit_id", "status").annotate(n=Count("pk"))
    }
    return [
        {
            "unit_id": unit.pk,
            "unit": unit.name,
            "by_status": {state: counts.get((unit.pk, state), 0) for state in Request.Status.values},
        }
        for unit in Unit.objects.order_by("name")
    ]


def invoices_by_stage() -> dict[str, int] | None:
    invoice = optional_model("sales", "Invoice")
    field = _first_field(invoice, INVOICE_STAGE_FIELDS) if invoice is not None else None
    if invoice is None or field is None:
        return None
    rows = invoice._default_manager.order_by(field).values(field).annotate(n=Count("pk"))
    return {str(row[field]): row["n"] for row in rows}


def jobs_running() -> int | None:
    job = optional_model("progress", "Job")
    if job is None or _first_field(job, ("status",)) is None:
        return None
    return job._default_manager.filter(status=JOB_RUNNING).count()


def optional_model(app_label: str, model_name: str) -> type[Model] | None:
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None


def _first_field(model: type[Model], names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        return name
    return None
