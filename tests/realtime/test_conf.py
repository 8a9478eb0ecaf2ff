"""The settings object (apps/realtime/conf.py) and the system checks (apps/realtime/checks.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.realtime import checks, conf, history, streams
from apps.realtime.conf import realtime_settings
from apps.realtime.messages import _handlers, on_message

BACKEND = Path(__file__).resolve().parents[2] / "backend"
PYTHON = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python")


class RecordingHistory(history.MemoryHistory):
    """A history of a project's own, chosen by its dotted path."""

    made_with: int = 0

    @classmethod
    def from_settings(cls, settings: Any) -> RecordingHistory:
        made = cls(int(settings.HISTORY_SIZE))
        cls.made_with = int(settings.HISTORY_SIZE)
        return made


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_every_key_has_a_default_and_a_change_reloads_it(settings: Any) -> None:
    settings.REALTIME = {}
    assert realtime_settings.HISTORY_SIZE == 1000 and realtime_settings.PRESENCE_GRACE == 5
    settings.REALTIME = {"HISTORY_SIZE": 7}
    assert realtime_settings.HISTORY_SIZE == 7 and realtime_settings.OUTBOUND_QUEUE == 1000
    with pytest.raises(AttributeError, match="not a real-time setting"):
        realtime_settings.HISTORY  # noqa: B018


def test_the_mode_follows_the_redis_settings(settings: Any) -> None:
    settings.REDIS_URL, settings.CHANNEL_LAYER = "", "memory"
    assert realtime_settings.mode == "embedded" and realtime_settings.redis_urls == []
    settings.REDIS_URL, settings.CHANNEL_LAYER = "redis://127.0.0.1:6379/0", "redis"
    settings.REALTIME_REDIS_URLS = []
    assert realtime_settings.mode == "redis" and realtime_settings.redis_urls == ["redis://127.0.0.1:6379/0"]
    settings.CHANNEL_LAYER = "memory"  # Redis for the cache, one process for the rest
    assert realtime_settings.mode == "embedded"


def test_the_environment_sets_keys_by_their_names_with_their_types() -> None:
    values = conf.from_environment(
        {"REALTIME_HISTORY_SIZE": "50", "REALTIME_RECONCILE_INTERVAL": "0.5", "WS_TICKET_TTL": "10"}
    )
    assert values == {"HISTORY_SIZE": 50, "RECONCILE_INTERVAL": 0.5, "TICKET_TTL": 10}
    assert conf.from_environment({"REALTIME_TICKET_TTL": "5", "WS_TICKET_TTL": "10"})["TICKET_TTL"] == 5
    with pytest.raises(ImproperlyConfigured, match="REALTIME_HISTORY_SIZE must be an integer, got 'lots'"):
        conf.from_environment({"REALTIME_HISTORY_SIZE": "lots"})


def test_a_value_out_of_range_is_a_clear_error_when_read_and_a_check(settings: Any) -> None:
    settings.REALTIME = {"PRESENCE_GRACE": 9, "HISTORY_SIZE": "big"}
    with pytest.raises(ImproperlyConfigured, match=r"REALTIME\['PRESENCE_GRACE'\] must be 0 to 8, got 9"):
        realtime_settings.HISTORY_SIZE  # noqa: B018
    found = checks.check_settings()
    assert ids(found) == ["realtime.E001", "realtime.E001"]
    assert "HISTORY_SIZE'] must be int, got 'big'" in found[0].msg and "docs/settings.md" in str(found[0].hint)
    settings.REALTIME = {"PRESENCE_EXPIRY": 50, "PRESENCE_SWEEP_INTERVAL": 10}
    assert "must be at most 55 seconds" in checks.check_settings()[0].msg


def test_a_misspelt_key_is_a_warning_with_the_likely_name(settings: Any) -> None:
    settings.REALTIME = {"HISTORY_SIZES": 5}
    (warning,) = checks.check_settings()
    assert warning.id == "realtime.W001" and "Did you mean 'HISTORY_SIZE'?" in str(warning.hint)


def test_a_backend_is_chosen_by_its_dotted_path(settings: Any) -> None:
    settings.REALTIME = {"HISTORY_BACKEND": f"{__name__}.RecordingHistory", "HISTORY_SIZE": 3}
    made = history.get_history()
    assert isinstance(made, RecordingHistory) and RecordingHistory.made_with == 3
    settings.REALTIME = {}
    assert type(history.get_history()) is history.MemoryHistory  # the change dropped the old one


def test_a_backend_that_does_not_import_is_a_check(settings: Any) -> None:
    settings.REALTIME = {"TRANSPORT_BACKEND": "myproject.transports.Nope"}
    (error,) = checks.check_settings()
    assert error.id == "realtime.E002" and "cannot be imported" in error.msg
    assert "apps.realtime.transport.LocalTransport" in str(error.hint)
    settings.REALTIME = {"PRESENCE_BACKEND": "apps.realtime.presence.get_store"}
    (error,) = checks.check_settings()
    assert error.id == "realtime.E002" and "not a class with from_settings" in error.msg


def test_the_redis_topology_is_checked(settings: Any) -> None:
    settings.REDIS_URL, settings.CHANNEL_LAYER = "redis+sentinel://h1:26379,h2:26379", "redis"
    assert "realtime.E004" in ids(checks.check_settings())
    assert "master's name" in next(m.msg for m in checks.check_settings() if m.id == "realtime.E004")
    settings.REDIS_URL, settings.CHANNEL_LAYER = "", "pubsub"
    assert ids(checks.check_settings()) == ["realtime.E003"]
    settings.CHANNEL_LAYER = "kafka"
    assert ids(checks.check_settings()) == ["realtime.E003"]
    settings.CHANNEL_LAYER, settings.REALTIME_REDIS_URLS = "memory", ["redis://a/0"]
    assert ids(checks.check_settings()) == ["realtime.E005"]
    settings.REDIS_URL, settings.CHANNEL_LAYER = "redis://a/0", "redis"
    settings.REALTIME_REDIS_URLS = ["redis://a/0", "redis://b/0"]
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}}
    (error,) = checks.check_settings()
    assert error.id == "realtime.E005" and "shard1" in error.msg


def test_the_project_passes_its_own_checks() -> None:
    assert checks.check_settings() == [] and checks.check_declarations() == []


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Declarations made by a test are gone after it."""
    monkeypatch.setattr(streams, "_registry", list(streams._registry))
    monkeypatch.setattr(streams, "_routes", list(streams._routes))
    monkeypatch.setattr("apps.realtime.messages._handlers", dict(_handlers))


def test_a_stream_whose_can_read_has_the_wrong_signature_is_a_check(scratch_registry: None) -> None:
    def can_read(user: Any, unit: int) -> bool:  # the pattern's parameter is unit_id
        return True

    streams.register(streams.Stream("scratch.unit.{unit_id:int}", can_read=can_read, events=("request.updated",)))
    (error,) = checks.check_declarations()
    assert error.id == "realtime.E006" and "can_read(user, unit_id=...)" in error.msg


def test_a_stream_declaring_an_event_without_a_schema_is_a_check(scratch_registry: None) -> None:
    streams.register(streams.Stream("scratch.all", events=("request.updated", "request.exploded")))
    (error,) = checks.check_declarations()
    assert error.id == "realtime.E007" and "'request.exploded'" in error.msg


def test_an_event_no_stream_declares_is_a_check(monkeypatch: pytest.MonkeyPatch) -> None:
    only = [s for s in streams._registry if "comment.created" not in s.events]
    monkeypatch.setattr(streams, "_registry", only)
    assert "realtime.E008" in ids(checks.check_declarations())
    assert any("'comment.created' is published to no declared stream" in m.msg for m in checks.check_declarations())


def test_a_message_handler_with_the_wrong_signature_is_a_check(scratch_registry: None) -> None:
    stream = streams.register(streams.Stream("scratch.item.{item_id:int}", events=("request.updated",)))

    @on_message(stream, "poke")
    def poke(user: Any, data: Any) -> None:  # no item_id
        return None

    (error,) = checks.check_declarations()
    assert error.id == "realtime.E010" and "item_id=..." in error.msg


def test_a_server_with_settings_it_cannot_use_does_not_start() -> None:
    # Daphne and uvicorn run no system checks: the ASGI application runs the real-time ones.
    environ = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REALTIME_PRESENCE_GRACE": "9",
    }
    result = subprocess.run(
        [PYTHON, "-c", "import config.asgi"], cwd=BACKEND, env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "realtime.E001: REALTIME['PRESENCE_GRACE'] must be 0 to 8, got 9" in result.stderr, result.stderr[-2000:]


def test_docs_settings_lists_every_key_with_its_default() -> None:
    text = (BACKEND.parent / "docs" / "settings.md").read_text()
    for key, default in conf.DEFAULTS.items():
        shown = '""' if default == "" else str(default)
        assert f"| `{key}` | `{shown}` |" in text, f"docs/settings.md does not list {key} with its default {shown}"
    for n in range(1, 12):
        assert f"`realtime.E{n:03d}`" in text
