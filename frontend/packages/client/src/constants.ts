/**
 * The protocol's numbers and names in one place: close codes and what the client does after each,
 * and the error codes of a reply (docs/protocol.md sections 3 and 7).
 */

import { CloseCode, type ReplyErrorCode } from "./events.generated.js";

/** The close codes the server uses (docs/protocol.md section 3), as the server exports them. */
export { CloseCode };

/** The client closed on purpose (logout); it never reconnects after it. */
export const NORMAL_CLOSURE = 1000;
/** What a browser reports for a connection lost without a close frame; also used for a heartbeat timeout. */
export const ABNORMAL_CLOSURE = 1006;

/** Socket closes that reconnecting cannot cure: the client stops. */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.FORBIDDEN, CloseCode.NOT_FOUND]);

/** Stream refusals on the multiplexed socket after which the client stops asking for the stream. */
export const REFUSAL_CODES: ReadonlySet<number> = new Set([CloseCode.FORBIDDEN, CloseCode.NOT_FOUND]);

/** The codes of a `reply` with `status: "error"`. */
export const REPLY_ERROR_CODES: readonly ReplyErrorCode[] = [
  "invalid",
  "forbidden",
  "not_found",
  "not_subscribed",
  "unknown_event",
  "rate_limited",
  "server_error",
];

export type { ReplyErrorCode };

/**
 * Why `send()` rejected: a reply's error code, `timeout` (no reply in time) or `disconnected`
 * (the socket was not open, or closed before the reply came).
 */
export type SendErrorCode = ReplyErrorCode | "timeout" | "disconnected";

/** How long `send()` waits for its reply by default. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;
