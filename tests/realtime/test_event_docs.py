"""docs/events.md and the TypeScript client's types are generated from the event schemas."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.realtime.events import EVENT_TYPES, validate
from apps.realtime.schema_export import example_envelope, public_events
from apps.realtime.streams import all_streams


def test_docs_and_client_types_match_the_schemas() -> None:
    call_command("export_event_types", check=True)


def test_every_public_event_has_a_description_a_valid_example_and_a_stream() -> None:
    for cls in public_events():
        assert cls.description, cls.type
        example = example_envelope(cls)
        assert validate(example) is cls
        assert any(cls.type in s.events for s in all_streams()), f"{cls.type} is published to no declared stream"


def test_every_event_a_stream_declares_has_a_schema() -> None:
    for stream in all_streams():
        for event_type in stream.events:
            assert event_type in EVENT_TYPES, f"{stream.pattern} declares undeclared event {event_type}"


def test_validate_rejects_a_frame_that_drifts_from_its_schema() -> None:
    from apps.realtime.events import EventSchemaError

    frame = example_envelope(EVENT_TYPES["request.updated"])
    with pytest.raises(EventSchemaError):
        validate({**frame, "surprise": 1})
    with pytest.raises(EventSchemaError):
        validate({k: v for k, v in frame.items() if k != "status"})
    with pytest.raises(EventSchemaError):
        validate({**frame, "request_id": [1]})
