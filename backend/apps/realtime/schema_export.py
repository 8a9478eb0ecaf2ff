"""
Documentation and client types generated from the event schemas and the close codes:
`docs/events.md` and the TypeScript client's `events.generated.ts`.
`manage.py export_event_types` writes both; a test fails when either no longer matches.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from .connection import CloseCode
from .events import EVENT_TYPES, Event, schema
from .messages import REPLY_CODES
from .streams import all_streams

_TS_TYPES = {
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    dict: "Record<string, unknown>",
    list: "unknown[]",
    type(None): "null",
}
_BASE_FIELDS = {f.name for f in dataclasses.fields(Event)}


def public_events() -> list[type[Event]]:
    """Event types a client can receive (internal ones, like health probes, are left out)."""
    return [cls for cls in EVENT_TYPES.values() if not getattr(cls, "internal", False)]


def _extra_fields(cls: type[Event]) -> list[tuple[str, tuple[type, ...]]]:
    types = schema(cls)
    return [(f.name, types[f.name]) for f in dataclasses.fields(cls) if f.name not in _BASE_FIELDS]


def _ts_type(accepted: tuple[type, ...]) -> str:
    names = dict.fromkeys(_TS_TYPES.get(t, "unknown") for t in accepted)
    return " | ".join(names)


def _interface_name(cls: type[Event]) -> str:
    return "".join(part.title() for part in cls.type.replace("_", ".").split(".")) + "Event"


def typescript() -> str:
    events = public_events()
    out = [
        "// Generated from the backend's event schemas by `python backend/manage.py export_event_types`. Do not edit.",
        "",
        "/** Fields every event carries, on any route or transport. */",
        "export interface EventEnvelope {",
        "  type: string;",
        "  action: string;",
        "  id: string;",
        "  stream: string;",
        "  data: Record<string, unknown>;",
        "  updated_by: string | null;",
        "  updated_at: string;",
        "}",
        "",
    ]
    for cls in events:
        out += [f"/** {cls.description} */", f"export interface {_interface_name(cls)} extends EventEnvelope {{"]
        out += [f'  type: "{cls.type}";', f"  {cls.entity}_id: number | string;"]
        out += [f"  {name}: {_ts_type(accepted)};" for name, accepted in _extra_fields(cls)]
        out += ["}", ""]
    out += ["/** Every event a stream can carry. */", "export type SynclineEvent ="]
    out += [f"  | {_interface_name(cls)}" for cls in events]
    out[-1] += ";"
    out += ["", 'export type SynclineEventType = SynclineEvent["type"];', ""]
    out += [_close_codes_ts(), _replies_ts(), _CONTROL_TS]
    return "\n".join(out)


def _close_codes_ts() -> str:
    out = ["/** The close codes of the protocol (docs/protocol.md). */", "export const CloseCode = {"]
    for code in CloseCode:
        out += [f"  /** {code.meaning} */", f"  {code.name}: {int(code)},"]
    out += ["} as const;", "", "export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];", ""]
    out += ["/** The reason a close frame carries when the server gives no other. */"]
    out += ["export const CLOSE_REASONS: Record<CloseCode, string> = {"]
    out += [f"  [CloseCode.{code.name}]: {json.dumps(code.reason)}," for code in CloseCode]
    out += ["};", ""]
    return "\n".join(out)


def _replies_ts() -> str:
    codes = " | ".join(json.dumps(code) for code in REPLY_CODES)
    return f"""/** Why a client message failed (docs/presence.md). */
export type ReplyErrorCode = {codes};

/** The one answer to a client message `{{"type": "message", "ref", "stream", "event", "data"}}`. */
export type ReplyMessage =
  | {{ type: "reply"; ref: string; status: "ok"; data: Record<string, unknown> }}
  | {{
      type: "reply";
      ref: string;
      status: "error";
      error: {{ code: ReplyErrorCode; detail: string; fields?: Record<string, unknown> }};
    }};

/** Another subscriber of a request's stream is writing a comment (no id, not kept). */
export interface CommentTypingMessage {{
  type: "comment.typing";
  stream: string;
  user_id: number;
  username: string;
}}
"""


_CONTROL_TS = """/** The server accepted a subscription on the multiplexed socket. */
export interface SubscribedMessage {
  type: "subscribed";
  stream: string;
}

/** The server refused a subscription (4403, 4404) or a frame. */
export interface ErrorMessage {
  type: "error";
  stream?: string;
  code: number;
  detail?: string;
}

/** A resume replayed the events after `last_event_id`. */
export interface StreamResumedMessage {
  type: "stream.resumed";
  stream: string;
  replayed: number;
}

/** The history no longer reaches `last_event_id`: refetch over REST. */
export interface StreamResetMessage {
  type: "stream.reset";
  stream: string;
}

/** The answer to `{"type": "ping"}`. */
export interface PongMessage {
  type: "pong";
  status?: "ok" | "degraded";
  checks?: Record<string, unknown>;
}

/** One member of a presence stream: a user, with how many connections they hold. */
export interface PresenceMember {
  user_id: number;
  username: string;
  conns: number;
}

/** Who is subscribed to a presence stream, right after subscribing and on `presence.get`.
 * Past the server's cap `members` is empty, `truncated` true and `count` gives the totals. */
export interface PresenceStateMessage {
  type: "presence.state";
  stream: string;
  rev: number;
  members: Record<string, PresenceMember>;
  truncated?: true;
  count?: { members: number; conns: number };
}

/** A user's first connection to the stream appeared. */
export interface PresenceJoinMessage {
  type: "presence.join";
  stream: string;
  rev: number;
  user_id: number;
  username: string;
}

/** A user's last connection to the stream went (after a short grace). */
export interface PresenceLeaveMessage {
  type: "presence.leave";
  stream: string;
  rev: number;
  user_id: number;
}

export type PresenceMessage = PresenceStateMessage | PresenceJoinMessage | PresenceLeaveMessage;

/** Every message of the protocol itself, as opposed to stream events. */
export type ControlMessage =
  | SubscribedMessage
  | ErrorMessage
  | StreamResumedMessage
  | StreamResetMessage
  | PongMessage
  | ReplyMessage
  | CommentTypingMessage
  | PresenceMessage;

/** Everything the server sends on a socket. */
export type ServerMessage = SynclineEvent | ControlMessage;
"""


def example_envelope(cls: type[Event]) -> dict[str, Any]:
    stream = next((s for s in all_streams() if cls.type in s.events), None)
    stream_name = stream.name(**{p: 1 for p in stream.params}) if stream else ""
    if stream and "job_id" in stream.params:
        stream_name = stream.name(job_id="5b0c7e4e-8a47-4c1b-9d7e-3f1f6f0f2a10")
    body = cls(**{"updated_at": "2026-11-21T12:34:56.789Z", **cls.example}).envelope()
    return {"id": "1763762096789-0", "stream": stream_name, **body}


def markdown() -> str:
    out = [
        "# Events",
        "",
        "Generated from the event schemas (`apps/*/events.py`) by `python backend/manage.py export_event_types`;",
        "a test fails when this page and the schemas disagree. The envelope is the same on every route and",
        "transport (WebSocket, multiplexed `/ws/`, Server-Sent Events):",
        "",
        "| field | meaning |",
        "|---|---|",
        "| `type` | `<entity>.<verb>` |",
        "| `action` | what happened (`created`, `approved`, ...) |",
        "| `id` | `<ms>-<seq>`, strictly increasing within the stream; resume with `last_event_id` |",
        "| `stream` | the stream's name |",
        "| `<entity>_id` | the object (`request_id`, `crate_id`, ...) |",
        "| `data` | the object as the REST API serializes it |",
        "| `updated_by` | username of who made the change, or null |",
        "| `updated_at` | when the event was made, ISO 8601 UTC |",
        "",
        "Control messages (not events, no `id`): `subscribed`, `unsubscribed`, `error` (`code`, `detail`),",
        "`stream.resumed` (`replayed`), `stream.reset`, `pong`, `auth.refreshed` (`expires_at`), `reply` (`ref`,",
        "`status`, `data` or `error`: docs/presence.md). Ephemeral messages (no `id`, not kept, not replayed):",
        "`comment.typing` (`user_id`, `username`) on `requests.item.<id>`; on presence streams",
        "(`requests.unit.<id>`, `requests.item.<id>`) `presence.state` (`rev`, `members`), `presence.join`",
        "(`rev`, `user_id`, `username`) and `presence.leave` (`rev`, `user_id`): docs/presence.md.",
        "",
    ]
    for cls in public_events():
        streams = [f"`{s.pattern}`" for s in all_streams() if cls.type in s.events]
        out += [f"## `{cls.type}`", "", cls.description, "", f"Streams: {', '.join(streams) or '(none)'}."]
        extra = _extra_fields(cls)
        if extra:
            out += ["", "Fields besides the envelope: " + ", ".join(f"`{name}`" for name, _ in extra) + "."]
        out += ["", "```json", json.dumps(example_envelope(cls), indent=2), "```", ""]
    return "\n".join(out)
