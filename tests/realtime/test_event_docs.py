"""docs/events.md and the TypeScript client's types are generated from the event schemas."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.realtime import checks
from apps.realtime.events import EVENT_TYPES, validate
from apps.realtime.schema_export import example_envelope


def test_docs_and_client_types_match_the_schemas() -> None:
    call_command("export_event_types", check=True)


def test_the_declarations_pass_the_real_time_checks() -> None:
    """Every event a stream declares has a schema; every public event a stream, a description
    and an example its schema accepts (the checks `manage.py check` and the servers run)."""
    assert checks.check_declarations() == []


def test_validate_rejects_a_frame_that_drifts_from_its_schema() -> None:
    from apps.realtime.events import EventSchemaError

    frame = example_envelope(EVENT_TYPES["request.updated"])
    with pytest.raises(EventSchemaError):
        validate({**frame, "surprise": 1})
    with pytest.raises(EventSchemaError):
        validate({k: v for k, v in frame.items() if k != "status"})
    with pytest.raises(EventSchemaError):
        validate({**frame, "request_id": [1]})
