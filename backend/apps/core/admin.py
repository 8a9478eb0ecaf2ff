"""
The Django admin's view of the project's records. Requests, crates, storage locations,
notifications, jobs, invoices and submissions change only through their services, which
check the workflow, write the audit entry and publish the event after commit; audit entries
and outbox rows are written by the real-time layer itself. Edited in the admin, any of them
would skip that, so the admin shows them read-only: list, search, filter and detail pages.
Units, memberships and users stay editable (apps/accounts/admin.py): their signals revalidate
open sockets.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """Every field shown, none editable; no add, change or delete."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
