"""
API policy shared by every app: the 409 error, the one error shape, strict inputs, query filters.

Every 4xx body has one shape: `{"field": ["why", ...]}` for what is wrong with a field (a
body field or a query parameter), `{"detail": "why"}` for the rest. `exception_handler`
guarantees it, whatever raised the error; `StrictInput` makes a write that names a
read-only or unknown field a 400 instead of a silent drop; `query_filters` validates a
list endpoint's query parameters. `represent` is an object's representation for an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    """The object's current state does not allow this change (e.g. approving a rejected request)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This change is not allowed in the object's current state."
    default_code = "conflict"


class IdConverter:
    """`<id:pk>` in a URL: an object id, digits that fit the database's 64-bit integer.
    A longer one is a 404 like any id that names nothing, not an overflow in the query."""

    regex = "[0-9]{1,18}"  # the schema says so too: SPECTACULAR_SETTINGS["PATH_CONVERTER_OVERRIDES"]

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404`: the 404 of a URL nothing serves is JSON under /api/, like every API error."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = error_body(response.data)
    return response


def error_body(detail: Any) -> dict[str, Any]:
    """
    A validation error in the one shape. DRF gives a list for `ValidationError("why")`
    raised outside a serializer, a bare string for `ValidationError({"field": "why"})`,
    and `non_field_errors` for a serializer's own checks: the first and last become
    `detail`, a bare string becomes a list of one.
    """
    if not isinstance(detail, Mapping):
        return {"detail": _sentence(detail)}
    body: dict[str, Any] = {}
    for key, value in detail.items():
        if key in ("detail", api_settings.NON_FIELD_ERRORS_KEY):
            body["detail"] = _sentence(value)
        else:
            body[key] = value if isinstance(value, list | Mapping) else [value]
    return body


def _sentence(value: Any) -> str:
    return " ".join(str(item) for item in value) if isinstance(value, list) else str(value)


# The largest id an input may name: ids are 64-bit integers in the database, and a larger
# number would fail the query (SQLite: OverflowError) instead of finding nothing.
MAX_ID = 10**18 - 1


class IdField(serializers.IntegerField):
    """An object id in an input or a query filter: 0 to MAX_ID, else a 400 naming the field."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=0, max_value=MAX_ID, **kwargs)


class RelatedId(serializers.PrimaryKeyRelatedField[Any]):
    """A related object by id (`{"unit": 1}`), the id bounded like IdField."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("pk_field", IdField())
        super().__init__(**kwargs)


class StrictInput(serializers.Serializer[Any]):
    """
    An input serializer that answers 400 for a field it would otherwise ignore: a read-only
    one (`PATCH {"unit": 2}` on a crate: `{"unit": ["This field is read-only."]}`) or one it
    does not have. Put it first among the bases: `class CrateSerializer(StrictInput, ModelSerializer)`.
    """

    # What a ModelSerializer builds for a foreign key.
    serializer_related_field: ClassVar[type[serializers.RelatedField[Any, Any, Any]]] = RelatedId

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {
                key: ["This field is read-only." if key in self.fields else "This field is unknown."]
                for key in data
                if key not in self.fields or self.fields[key].read_only
            }
            if errors:
                raise exceptions.ValidationError(errors)
        return super().to_internal_value(data)


def query_filters(request: Request, filters: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    """
    A list endpoint's query parameters, validated by `filters` (a serializer of optional
    fields): 400 `{"status": ["\\"bogus\\" is not a valid choice."]}` for a value it does not
    accept. A parameter left empty (`?status=`) filters nothing; parameters it does not
    name are not filters and are left alone (`?format=json`).
    """
    query = filters(data=request.query_params)
    query.is_valid(raise_exception=True)
    return {key: value for key, value in query.validated_data.items() if value not in ("", None)}


_representers: dict[type[serializers.BaseSerializer[Any]], serializers.BaseSerializer[Any]] = {}


def represent(serializer_class: type[serializers.BaseSerializer[Any]], obj: Any) -> dict[str, Any]:
    """`dict(serializer_class(obj).data)`, for an event's `data`, from one instance of the
    serializer kept per class: a ModelSerializer builds its fields from the model on every
    instantiation, and that was a fifth of the time of a `POST /api/requests/`, which
    serializes for its events twice. For serializers whose representation needs no context
    (no request): events have none."""
    serializer = _representers.get(serializer_class)
    if serializer is None:
        serializer = _representers[serializer_class] = serializer_class()
    return dict(serializer.to_representation(obj))
