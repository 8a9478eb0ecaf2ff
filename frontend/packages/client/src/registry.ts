/**
 * The client's streams: who listens to each, the last event id seen on it (for resuming and for
 * dropping duplicates) and whether the server refused it.
 */
import { REFUSAL_CODES } from "./constants.js";
import { compareEventIds } from "./eventId.js";
import type { ServerMessage, SynclineEvent } from "./events.generated.js";
import type { EphemeralMessage, SubscribeFrame } from "./protocol.js";

export interface StreamError {
  /** 4403: not allowed on this stream; 4404: no such stream; other codes as docs/protocol.md section 3 lists. */
  code: number;
  detail?: string;
}

/** Callbacks for one stream; every one is optional. */
export interface StreamHandlers<E extends SynclineEvent = SynclineEvent> {
  /** A new event, never one already delivered. */
  onEvent?: (event: E) => void;
  /** The server accepted the subscription. */
  onSubscribed?: () => void;
  /** A resume after a reconnect replayed `replayed` missed events (already passed to onEvent). */
  onResumed?: (replayed: number) => void;
  /**
   * Events were missed and could not be replayed: refetch the data over REST. Also called after a
   * reconnect for a stream that had no event yet, which has no id to resume from.
   */
  onReset?: () => void;
  /** The server refused the stream. After 4403 and 4404 the client stops asking for it. */
  onError?: (error: StreamError) => void;
  /** A message of the stream that is no event (no id, not kept, not replayed): `comment.typing`. */
  onEphemeral?: (message: EphemeralMessage) => void;
}

interface StreamState {
  readonly handlers: Set<StreamHandlers>;
  lastEventId?: string;
  /** Refused with 4403/4404: asking again on every reconnect cannot succeed. */
  refused: boolean;
  /** The server confirmed the subscription on the current connection. */
  live: boolean;
  /** Resubscribed after a connection that carried it dropped, with no id to resume from. */
  missedWhileAway: boolean;
}

export class StreamRegistry {
  private readonly streams = new Map<string, StreamState>();

  /**
   * Adds a listener; returns the subscribe frame to send when the server is not yet (or no
   * longer) sending the stream, else null.
   */
  add(stream: string, handlers: StreamHandlers): SubscribeFrame | null {
    let state = this.streams.get(stream);
    if (state === undefined) {
      state = { handlers: new Set(), refused: false, live: false, missedWhileAway: false };
      this.streams.set(stream, state);
    }
    const needsSubscribe = state.handlers.size === 0 || state.refused;
    state.handlers.add(handlers);
    // A new listener retries a refused stream once: permissions may have changed since.
    state.refused = false;
    return needsSubscribe ? subscribeFrame(stream, state) : null;
  }

  /** Removes a listener; returns true when it was the stream's last one, so the subscription should end. */
  remove(stream: string, handlers: StreamHandlers): boolean {
    const state = this.streams.get(stream);
    if (state === undefined || !state.handlers.delete(handlers)) return false;
    if (state.handlers.size > 0) return false;
    this.streams.delete(stream);
    return !state.refused;
  }

  /** The frames that restore every stream on a new connection, each resuming after its last event. */
  subscribeFrames(): SubscribeFrame[] {
    for (const state of this.streams.values()) {
      // Without a last event id the server cannot replay what happened while the socket was down.
      if (state.live && state.lastEventId === undefined) state.missedWhileAway = true;
      state.live = false;
    }
    return [...this.streams]
      .filter(([, state]) => !state.refused)
      .map(([stream, state]) => subscribeFrame(stream, state));
  }

  /** Routes one server message (other than pong) to the handlers of its stream. */
  dispatch(message: Exclude<ServerMessage, { type: "pong" } | { type: "reply" }>): void {
    if (message.stream === undefined) return;
    const state = this.streams.get(message.stream);
    // Events still in flight after an unsubscribe have no one to go to.
    if (state === undefined) return;
    switch (message.type) {
      case "subscribed":
        state.live = true;
        notify(state, (h) => h.onSubscribed?.());
        if (state.missedWhileAway) {
          state.missedWhileAway = false;
          notify(state, (h) => h.onReset?.());
        }
        return;
      case "stream.resumed":
        return notify(state, (h) => h.onResumed?.(message.replayed));
      case "stream.reset":
        // The last id is kept on purpose: should the socket drop again before the next event, the
        // resume reports the gap again instead of silently skipping it.
        return notify(state, (h) => h.onReset?.());
      case "error":
        if (REFUSAL_CODES.has(message.code)) state.refused = true;
        return notify(state, (h) => h.onError?.({ code: message.code, detail: message.detail }));
      default:
        // Events carry an id. Of what has none, `unsubscribed` needs no action; the rest are the
        // stream's ephemeral messages.
        if (!("id" in message) || typeof message.id !== "string") {
          const ephemeral = message as unknown as EphemeralMessage;
          if (ephemeral.type !== "unsubscribed") notify(state, (h) => h.onEphemeral?.(ephemeral));
          return;
        }
        if (!isNewEvent(state, message)) return;
        return notify(state, (h) => h.onEvent?.(message));
    }
  }
}

function subscribeFrame(stream: string, state: StreamState): SubscribeFrame {
  return state.lastEventId === undefined
    ? { type: "subscribe", stream }
    : { type: "subscribe", stream, last_event_id: state.lastEventId };
}

/** Records the event's id; false for a duplicate (an id at or before the last one seen). */
function isNewEvent(state: StreamState, event: SynclineEvent): boolean {
  if (state.lastEventId !== undefined && compareEventIds(event.id, state.lastEventId) <= 0) return false;
  state.lastEventId = event.id;
  return true;
}

/**
 * Calls every handler of a stream. A handler that throws must not keep the others (or the client)
 * from running, so its error is rethrown on its own, where the app's error reporting still sees it.
 */
function notify(state: StreamState, call: (handlers: StreamHandlers) => void): void {
  for (const handlers of [...state.handlers]) {
    try {
      call(handlers);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
