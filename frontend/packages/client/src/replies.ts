/**
 * Client messages waiting for their reply, keyed by `ref`. Refs are numbered per socket: a reply
 * can only come back on the socket its message went out on, and every message still waiting when
 * that socket closes is rejected (`disconnected`), since its reply can no longer arrive.
 */
import type { SendErrorCode } from "./constants.js";
import type { Timers } from "./options.js";
import type { ReplyMessage } from "./protocol.js";

/** Why a `send()` failed: `code` is the reply's error code, `timeout` or `disconnected`. */
export class SendError extends Error {
  constructor(
    readonly code: SendErrorCode,
    detail: string,
    /** For `invalid`: the problems per field of `data`, as DRF gives them (`{"body": ["..."]}`). */
    readonly fields?: Record<string, unknown>,
  ) {
    super(detail);
    this.name = "SendError";
  }
}

interface Pending {
  resolve: (data: Record<string, unknown>) => void;
  reject: (error: SendError) => void;
  timer: unknown;
}

export class PendingReplies {
  private readonly pending = new Map<string, Pending>();
  private lastRef = 0;

  constructor(private readonly timers: Timers) {}

  /** Starts numbering again for a new socket, rejecting what waited on the old one. */
  reset(detail: string): void {
    this.rejectAll(detail);
    this.lastRef = 0;
  }

  /** A new ref and the promise of its reply, rejected with `timeout` after `timeoutMs`. */
  add(timeoutMs: number): { ref: string; reply: Promise<Record<string, unknown>> } {
    const ref = String(++this.lastRef);
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(ref);
        reject(new SendError("timeout", `no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(ref, { resolve, reject, timer });
    });
    return { ref, reply };
  }

  /** Settles the message the reply answers; a reply nobody waits for (timed out) is dropped. */
  settle(reply: ReplyMessage): void {
    const pending = this.pending.get(reply.ref);
    if (pending === undefined) return;
    this.pending.delete(reply.ref);
    this.timers.clearTimeout(pending.timer);
    if (reply.status === "ok") {
      pending.resolve(reply.data ?? {});
    } else {
      const { code, detail, fields } = reply.error;
      pending.reject(new SendError(code, detail, fields));
    }
  }

  rejectAll(detail: string): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const { reject, timer } of waiting) {
      this.timers.clearTimeout(timer);
      reject(new SendError("disconnected", detail));
    }
  }
}
