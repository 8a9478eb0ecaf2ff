"""
The OpenAPI schema's house rules (drf-spectacular): every operation lists the error answers
it can give, in the API's one error shape (apps/core/api.py), inputs admit only the fields
they declare, and the operations endpoints, plain Django views, are described too.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from rest_framework import permissions

ERROR = {"$ref": "#/components/schemas/Error"}
VALIDATION_ERROR = {"$ref": "#/components/schemas/ValidationError"}

COMPONENTS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "A 4xx that names no field (401, 403, 404, 409, and 400 for a malformed body).",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": 'What is wrong with each field, `{"field": ["why"]}`; `detail` for what names no field.',
        "properties": {"detail": {"type": "string"}},
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# The operations endpoints (apps/realtime/views.py): public, not DRF views, so described here.
OPERATIONS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "operationId": "healthz",
            "summary": "The process is alive.",
            "tags": ["operations"],
            "security": [{}],
            "responses": {
                "200": _json({"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}}, "alive")
            },
        }
    },
    "/readyz": {
        "get": {
            "operationId": "readyz",
            "summary": "The database and the channel layer answer (else 503).",
            "tags": ["operations"],
            "security": [{}],
            "responses": {
                code: _json(
                    {
                        "type": "object",
                        "properties": {
                            "status": {"type": "string", "enum": ["ok", "degraded"]},
                            "checks": {"type": "object", "additionalProperties": True},
                        },
                        "required": ["status", "checks"],
                    },
                    description,
                )
                for code, description in (("200", "ready"), ("503", "a dependency does not answer"))
            },
        }
    },
    "/metrics": {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus metrics of this process.",
            "tags": ["operations"],
            "security": [{}],
            "responses": {
                "200": {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}
            },
        }
    },
}


class AutoSchema(openapi.AutoSchema):
    """Adds to each operation the error answers it can give: 400 for inputs, 401, 403, 404 for
    a path naming an object; a view declares 409 itself (`responses={409: ERROR}`)."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        errors: list[tuple[str, dict[str, Any], str]] = []
        if self.method not in permissions.SAFE_METHODS or self._has_query_filters():
            errors.append(("400", VALIDATION_ERROR, "Bad input"))
        errors.append(("401", ERROR, "Not signed in, or a credential that is not valid"))
        checks = self.view.get_permissions()
        if checks and not any(isinstance(p, permissions.AllowAny) for p in checks):
            errors.append(("403", ERROR, "Not allowed"))
        if "{" in self.path:
            errors.append(("404", ERROR, "No such object, or one you may not see"))
        for code, schema, description in errors:
            responses.setdefault(code, _json(schema, description))
        return responses

    def _has_query_filters(self) -> bool:
        return bool(self.get_override_parameters())


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add the error components and the operations endpoints; inputs take only their fields."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(COMPONENTS)
    for name, schema in schemas.items():
        # Inputs are StrictInput serializers (apps/core/api.py): an unknown field is a 400.
        # simplejwt's (TokenObtainPairRequest, TokenRefreshRequest) ignore one.
        if name.endswith("Request") and not name.startswith("Token") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    result["paths"] = {**result.get("paths", {}), **OPERATIONS}
    return result
