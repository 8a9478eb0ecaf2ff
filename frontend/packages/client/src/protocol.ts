/** Frames of the multiplexed `/ws/` protocol (docs/protocol.md section 5). */
import type { ReplyErrorCode } from "./constants.js";
import type { ServerMessage as GeneratedServerMessage } from "./events.generated.js";

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

/** The server's answer to a client message. */
export type ReplyMessage =
  | { type: "reply"; ref: string; status: "ok"; data: Record<string, unknown> }
  | {
      type: "reply";
      ref: string;
      status: "error";
      error: { code: ReplyErrorCode; detail: string; fields?: Record<string, unknown> };
    };

/** One user subscribed to a presence stream; several sockets of one user are one member. */
export interface PresenceMember {
  user_id: number;
  username: string;
  /** How many connections the user has to the stream. */
  conns: number;
}

/** Who is subscribed to a stream, sent after `subscribed` and in answer to `presence.get`. */
export interface PresenceStateMessage {
  type: "presence.state";
  stream: string;
  rev: number;
  members: Record<string, PresenceMember>;
  /** Set when the stream has more members than the server lists (`members` is then empty); join and leave stop. */
  truncated?: boolean;
  /** With `truncated`: how many members and connections the stream has. */
  count?: PresenceCount;
}

export interface PresenceCount {
  members: number;
  conns: number;
}

export interface PresenceJoinMessage {
  type: "presence.join";
  stream: string;
  rev: number;
  user_id: number;
  username: string;
}

export interface PresenceLeaveMessage {
  type: "presence.leave";
  stream: string;
  rev: number;
  user_id: number;
}

export type PresenceMessage = PresenceStateMessage | PresenceJoinMessage | PresenceLeaveMessage;

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
export type ServerMessage = GeneratedServerMessage | ReplyMessage | PresenceMessage;

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
