"""
Every 4xx of the HTTP API has one shape: `{"field": ["why", ...]}` for what is wrong with a
field or query parameter, `{"detail": "why"}` for the rest. One walk over every operation
of the schema sends it bad input, then the cases each service rejects on its own rules.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.academy.models import Submission
from apps.audit.models import AuditEntry
from apps.notifications.services import notify_user
from apps.progress.models import Job
from apps.requests.models import Request
from apps.sales.models import Invoice
from tests.api.endpoints import openapi
from tests.support import Demo

pytestmark = pytest.mark.django_db(transaction=True)

TOO_BIG = 10**20  # past the database's 64-bit integers
# Query values that name a thing rather than filter: an unknown one is a 404, as subscribing to
# an unknown stream is (docs/protocol.md section 6).
NAMING_QUERIES = {("/api/presence/", "stream")}


def assert_error(response: Any, status: int, *names: str) -> dict[str, Any]:
    """`response` is a `status` in the one error shape, naming each of `names`."""
    where = f"{response.request['REQUEST_METHOD']} {response.request['PATH_INFO']}"
    assert response.status_code == status, f"{where}: {response.status_code} {response.content[:300]!r}"
    assert response["Content-Type"].startswith("application/json"), where
    body = response.json()
    assert isinstance(body, dict) and body, f"{where}: {body!r}"
    for key, value in body.items():
        if key == "detail":
            assert isinstance(value, str) and value, f"{where}: detail {value!r}"
        else:
            assert isinstance(value, list) and value, f"{where}: {key} is {value!r}, not a list of reasons"
            assert all(isinstance(reason, str) and reason for reason in value), f"{where}: {key} {value!r}"
    assert set(names) <= set(body), f"{where}: {body} names none of {names}"
    return dict(body)


def resolve(schema: dict[str, Any], ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref")
    return dict(schema["components"]["schemas"][ref.rsplit("/", 1)[1]]) if ref else ref_or_schema


def json_schema(schema: dict[str, Any], holder: dict[str, Any]) -> dict[str, Any]:
    return resolve(schema, holder.get("content", {}).get("application/json", {}).get("schema", {}))


def test_every_endpoint_answers_bad_input_in_one_error_shape(memory_layer: str, demo: Demo) -> None:
    north = demo.unit("North")
    # nina (North's admin) first; staff for what only staff do, the mentor for grading.
    clients = [demo.api(name) for name in ("nina", "admin", "mentor")]
    notify_user(recipient=demo.user("nina"), title="For the walk")
    submission = Submission.objects.create(student=demo.user("stella"), mentor=demo.user("mentor"), title="Essay")
    job = Job.objects.create(user=demo.user("nina"), task_type="email_sending", total_items=1)
    # An object nina (North's admin) may reach, for each path that names one.
    ids = {
        "/api/requests/{id}/": Request.objects.filter(unit=north, status="pending").first().pk,
        "/api/documents/crates/{id}/": north.crates.first().pk,
        "/api/storage/{id}/": north.storage_locations.first().pk,
        "/api/notifications/{id}/": demo.user("nina").notifications.first().pk,
        "/api/academy/submissions/{id}/": submission.pk,
        "/api/sales/invoices/{id}/": Invoice.objects.first().pk,
        "/api/progress/jobs/{job_id}/": job.pk,
    }

    def url(path: str, value: Any = None) -> str:
        if "{" not in path:
            return path
        prefix = path[: path.index("}") + 2]
        assert prefix in ids, f"{path}: add an object to `ids` for this test to reach it"
        return re.sub(r"\{\w+\}", str(ids[prefix] if value is None else value), path)

    def send(method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """As the first of `clients` the endpoint does not forbid."""
        answer = None
        for client in clients:
            answer = client.generic(
                method,
                path,
                data=None if body is None else json.dumps(body),
                content_type="application/json",
                QUERY_STRING="&".join(f"{k}={v}" for k, v in (query or {}).items()),
            )
            if answer.status_code != 403:
                break
        return answer

    schema = openapi()
    walked = 0
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            method = method.upper()
            if "{" in path:  # an id past the database's range names nothing: 404, not an overflow
                big = url(path, "not-a-uuid" if "{job_id}" in path else TOO_BIG)
                assert_error(send(method, big, {}), 404, "detail")
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                name = parameter["name"]
                if (path, name) in NAMING_QUERIES:
                    assert_error(send(method, url(path), query={name: "bogus"}), 404, "detail")
                    continue
                assert_error(send(method, url(path), query={name: "bogus"}), 400, name)
                if parameter["schema"].get("type") == "integer":
                    assert_error(send(method, url(path), query={name: TOO_BIG}), 400, name)
            if "requestBody" not in operation:
                walked += 1
                continue
            strict = not path.startswith("/api/auth/token")  # simplejwt's own serializers
            request_fields = json_schema(schema, operation["requestBody"]).get("properties", {})
            answer_fields: dict[str, Any] = {}
            for code in ("200", "201", "202"):
                if code in operation["responses"]:
                    answer_fields = json_schema(schema, operation["responses"][code]).get("properties", {})
            assert_error(send(method, url(path), ["not", "an", "object"]), 400, "detail")
            assert_error(send(method, url(path), {"surprise": 1}), 400, *(["surprise"] if strict else []))
            # Fields of the answer that an input does not take (read-only ones: id, unit on an update...).
            extra = {name: 1 for name in answer_fields if name not in request_fields}
            if extra and strict:
                assert_error(send(method, url(path), extra), 400, *extra)
            for name, field in request_fields.items():
                if resolve(schema, field).get("type") == "integer":
                    assert_error(send(method, url(path), {name: TOO_BIG}), 400, name)
            walked += 1
    assert walked >= 45, walked

    # What the services reject by their own rules, in the same shape.
    carol, sam = demo.api("carol"), demo.api("sam")
    south = demo.unit("South")
    assert_error(carol.post("/api/requests/", {"unit": north.pk, "request_type": "storage", "title": "x"}), 400, "unit")
    assert_error(carol.post("/api/documents/crates/", {"unit": north.pk, "code": "Z-1"}), 400, "unit")
    assert_error(carol.post("/api/storage/", {"unit": north.pk, "name": "Shed"}), 400, "unit")
    approved = Request.objects.get(unit=north, status="approved")
    foreign = south.storage_locations.first().pk
    assert_error(sam.post(f"/api/requests/{approved.pk}/allocate-storage/", {"storage": foreign}), 400, "storage")
    crate = north.crates.first()
    assert_error(sam.post(f"/api/documents/crates/{crate.pk}/relocate/", {"storage": foreign}), 400, "storage")
    taken = north.crates.exclude(pk=crate.pk).first().code
    assert_error(sam.post("/api/documents/crates/", {"unit": north.pk, "code": taken}), 400, "code")
    assert_error(sam.patch(f"/api/documents/crates/{crate.pk}/", {"code": taken}, format="json"), 400, "code")
    assert_error(
        demo.api("mentor").post(f"/api/academy/submissions/{submission.pk}/grade/", {"score": 500}), 400, "score"
    )
    assert_error(demo.api("alice").get("/api/requests/?unit=abc"), 400, "unit")
    assert_error(demo.api("alice").get("/api/requests/?status=bogus"), 400, "status")
    assert_error(demo.api("alice").get("/api/audit/"), 400, "unit")
    stella = demo.user("stella")
    stella.mentor = None
    stella.save()
    assert_error(demo.api("stella").post("/api/academy/submissions/", {"title": "Alone"}), 400, "detail")
    assert_error(demo.api("alice").get("/api/no-such-endpoint/"), 404, "detail")
    assert_error(APIClient().get("/api/auth/me/"), 401, "detail")


def test_a_read_only_field_in_a_write_is_named_and_changes_nothing(memory_layer: str, demo: Demo) -> None:
    crate = demo.unit("North").crates.first()
    entries = AuditEntry.objects.count()
    south = demo.unit("South").pk
    body = assert_error(
        demo.api("sam").patch(f"/api/documents/crates/{crate.pk}/", {"unit": south}, format="json"), 400
    )
    assert body == {"unit": ["This field is read-only."]}
    crate.refresh_from_db()
    assert crate.unit_id != south and AuditEntry.objects.count() == entries
