"""API policy shared by every app: the 409 error, the exception handler, common params."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    """The object's current state does not allow this change (e.g. approving a rejected request)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This change is not allowed in the object's current state."
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    return drf_exception_handler(exc, context)


def int_param(request: Request, name: str) -> int | None:
    """An optional integer query parameter; 400 with a reason when malformed."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: f"must be an integer, got {raw[:40]!r}"}) from None
