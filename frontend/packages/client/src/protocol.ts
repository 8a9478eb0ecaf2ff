/** Frames of the multiplexed `/ws/` protocol (docs/protocol.md section 5). */
import type {
  ServerMessage as GeneratedServerMessage,
  PresenceMessage,
  PresenceStateMessage,
} from "./events.generated.js";

export interface SubscribeFrame {
  type: "subscribe";
  stream: string;
  last_event_id?: string;
}

/** A client message: the server answers it once with a `reply` of the same `ref`. */
export interface MessageFrame {
  type: "message";
  ref: string;
  stream: string;
  event: string;
  data: Record<string, unknown>;
}

/** Everything the client sends. */
export type ClientFrame =
  | SubscribeFrame
  | MessageFrame
  | { type: "unsubscribe"; stream: string }
  | { type: "presence.get"; stream: string }
  | { type: "ping" }
  | { type: "auth.refresh"; token: string };

/** The server's messages, as generated from its declarations (events.generated.ts). */
export type {
  PresenceJoinMessage,
  PresenceLeaveMessage,
  PresenceMember,
  PresenceMessage,
  PresenceStateMessage,
  ReplyMessage,
} from "./events.generated.js";

/** With `truncated`: how many members and connections a presence stream has. */
export type PresenceCount = NonNullable<PresenceStateMessage["count"]>;

/**
 * A message of a stream that is not one of its events: no id, never kept or replayed, never sent
 * back to the sender (`comment.typing`).
 */
export interface EphemeralMessage {
  type: string;
  stream: string;
  id?: undefined;
  [field: string]: unknown;
}

/** Everything the server sends on a socket. */
export type ServerMessage = GeneratedServerMessage;

/**
 * Parses one text frame from the server. Returns null for anything that is not a JSON object with a
 * string `type`: a frame the client cannot read is dropped rather than allowed to break the socket.
 */
export function parseServerMessage(data: unknown): ServerMessage | null {
  if (typeof data !== "string") return null;
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof message !== "object" || message === null || !("type" in message)) return null;
  return typeof message.type === "string" ? (message as ServerMessage) : null;
}

export function isPresenceMessage(message: { type: string }): message is PresenceMessage {
  return message.type === "presence.state" || message.type === "presence.join" || message.type === "presence.leave";
}
