/** Frames of the multiplexed `/ws/` protocol (docs/protocol.md section 5). */
import type { ServerMessage } from "./events.generated.js";

export interface SubscribeFrame {
  type: "subscribe";
  stream: string;
  last_event_id?: string;
}

/** Everything the client sends. */
export type ClientFrame =
  | SubscribeFrame
  | { type: "unsubscribe"; stream: string }
  | { type: "ping" }
  | { type: "auth.refresh"; token: string };

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
