"""The endpoints of the HTTP API (docs/api.md), as the OpenAPI schema names them, and the schema."""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.management import call_command

ENDPOINTS: list[tuple[str, str]] = [
    # auth
    ("POST", "/api/auth/token/"),
    ("POST", "/api/auth/token/refresh/"),
    ("POST", "/api/auth/ws-ticket/"),
    ("GET", "/api/auth/me/"),
    # requests and their audit trail
    ("GET", "/api/requests/"),
    ("POST", "/api/requests/"),
    ("GET", "/api/requests/{id}/"),
    ("POST", "/api/requests/{id}/approve/"),
    ("POST", "/api/requests/{id}/reject/"),
    ("POST", "/api/requests/{id}/send-back/"),
    ("POST", "/api/requests/{id}/allocate-storage/"),
    ("POST", "/api/requests/{id}/issue/"),
    ("POST", "/api/requests/{id}/return/"),
    ("PATCH", "/api/requests/storage/update/"),
    ("PATCH", "/api/requests/withdrawal/update/"),
    ("PATCH", "/api/requests/destruction/update/"),
    ("GET", "/api/audit/"),
    # crates and storage
    ("GET", "/api/documents/crates/"),
    ("POST", "/api/documents/crates/"),
    ("GET", "/api/documents/crates/{id}/"),
    ("PUT", "/api/documents/crates/{id}/"),
    ("PATCH", "/api/documents/crates/{id}/"),
    ("POST", "/api/documents/crates/{id}/relocate/"),
    ("GET", "/api/storage/"),
    ("POST", "/api/storage/"),
    ("GET", "/api/storage/{id}/"),
    ("PUT", "/api/storage/{id}/"),
    ("PATCH", "/api/storage/{id}/"),
    # notifications
    ("GET", "/api/notifications/"),
    ("POST", "/api/notifications/"),
    ("POST", "/api/notifications/{id}/read/"),
    ("POST", "/api/notifications/broadcast/"),
    # academy
    ("GET", "/api/academy/submissions/"),
    ("POST", "/api/academy/submissions/"),
    ("POST", "/api/academy/submissions/{id}/grade/"),
    ("GET", "/api/academy/leaderboard/"),
    # background jobs
    ("GET", "/api/progress/jobs/"),
    ("POST", "/api/progress/jobs/"),
    ("GET", "/api/progress/jobs/{job_id}/"),
    # sales
    ("GET", "/api/sales/invoices/"),
    ("GET", "/api/sales/invoices/{id}/"),
    ("POST", "/api/sales/import/invoice/"),
    ("POST", "/api/sales/picking/start/"),
    ("POST", "/api/sales/picking/complete/"),
    ("POST", "/api/sales/packing/start/"),
    ("POST", "/api/sales/packing/complete/"),
    ("POST", "/api/sales/delivery/start/"),
    ("POST", "/api/sales/delivery/complete/"),
    # dashboard and operations
    ("GET", "/api/dashboard/"),
    ("GET", "/api/ops/"),
    ("GET", "/api/ops/events/"),
    ("POST", "/api/ops/disconnect/"),
    ("POST", "/api/ops/token/"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
]


def openapi() -> dict[str, Any]:
    """The schema as `manage.py spectacular` writes it."""
    out = io.StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    return dict(json.loads(out.getvalue()))
