"""The OpenAPI schema: valid without warnings, complete, served as YAML and JSON, rendered locally."""

from __future__ import annotations

import io
import json
import re

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.api.endpoints import ENDPOINTS, openapi


def schema_operations(schema: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}


def test_the_schema_validates_without_warnings() -> None:
    out = io.StringIO()
    # --fail-on-warn makes a warning (an endpoint whose body it cannot tell) a CommandError.
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    assert json.loads(out.getvalue())["openapi"].startswith("3.")


def test_every_endpoint_is_in_the_schema_with_its_bodies_and_errors() -> None:
    schema = openapi()
    operations = schema_operations(schema)
    missing = [f"{method} {path}" for method, path in ENDPOINTS if (method, path) not in operations]
    assert not missing, f"not in the schema: {missing}"
    for method, path in ENDPOINTS:
        operation = schema["paths"][path][method.lower()]
        codes = set(operation["responses"])
        assert codes & {"200", "201", "202"}, f"{method} {path}: no success answer"
        if path.startswith("/api/"):
            assert "401" in codes, f"{method} {path}: 401 not described"
        if "{" in path:
            assert "404" in codes, f"{method} {path}: 404 not described"
        if method in ("POST", "PUT", "PATCH") and "requestBody" in operation:
            assert "400" in codes, f"{method} {path}: 400 not described"
    assert set(schema["components"]["securitySchemes"]) == {"jwtAuth", "cookieAuth"}
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"


@pytest.mark.django_db
def test_the_schema_is_served_as_yaml_and_json_and_the_docs_need_no_cdn() -> None:
    client = APIClient()
    as_yaml = client.get("/api/schema/")
    assert as_yaml.status_code == 200 and as_yaml["Content-Type"].startswith("application/vnd.oai.openapi;")
    as_json = client.get("/api/schema/?format=json")
    assert as_json.status_code == 200 and as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert yaml.safe_load(as_yaml.content) == json.loads(as_json.content)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
