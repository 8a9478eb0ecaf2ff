/** Presence, client messages and typing indicators: the two-way side of the socket. */
import type { EphemeralMessage, PresenceCount, PresenceMember, SendOptions } from "@syncline/client";
import { SendError } from "@syncline/client";
import { useCallback, useEffect, useRef, useState } from "react";
import { useStream, useWebSocket } from "./hooks.js";

export interface Presence {
  /** Who is subscribed to the stream (the signed-in user included), ordered by username. */
  members: PresenceMember[];
  /** False until the server's member set has arrived. */
  synced: boolean;
  /** The member set is too large to list: `members` is empty and `count` says how many there are. */
  truncated: boolean;
  count?: PresenceCount;
}

const NOBODY: Presence = { members: [], synced: false, truncated: false };

/** Who is on a presence stream (`requests.unit.<id>`, `requests.item.<id>`), live. */
export function usePresence(stream: string | null | undefined): Presence {
  const { client } = useWebSocket();
  const [presence, setPresence] = useState<{ stream: string; value: Presence } | null>(null);
  useEffect(() => {
    if (client === null || !stream) return;
    const update = (value: Presence) => setPresence({ stream, value });
    const subscription = client.presence(stream, {
      onSync: (sync) => update({ ...sync, synced: true }),
      onJoin: () => update({ members: subscription.members(), synced: true, truncated: false }),
      onLeave: () => update({ members: subscription.members(), synced: true, truncated: false }),
    });
    return () => subscription.stop();
  }, [client, stream]);
  // What a previous stream showed is no answer once the component follows another one.
  return presence !== null && presence.stream === stream ? presence.value : NOBODY;
}

export type Send = (
  stream: string,
  event: string,
  data?: Record<string, unknown>,
  options?: SendOptions,
) => Promise<Record<string, unknown>>;

/**
 * The provider's `client.send`: resolves with the reply's data, rejects with a `SendError`
 * (its `code` as the reply gave it, `timeout`, or `disconnected`, also when signed out).
 */
export function useSend(): Send {
  const { client } = useWebSocket();
  return useCallback<Send>(
    (stream, event, data = {}, options) =>
      client === null
        ? Promise.reject(new SendError("disconnected", "signed out"))
        : client.send(stream, event, data, options),
    [client],
  );
}

export interface Typist {
  user_id: number;
  username: string;
}

export interface TypingOptions {
  /** At most one `typing` message per this many ms while the user types. Default 2 s. */
  throttleMs?: number;
  /** How long someone is shown typing after their last `comment.typing`. Default 4 s. */
  expireMs?: number;
}

/**
 * Who else is typing on a stream (from its `comment.typing` messages), and `notifyTyping()` to call
 * on each keystroke: it sends the stream a `typing` message at most once per `throttleMs`. Someone
 * is shown typing until `expireMs` after their last message, or until their comment arrives.
 */
export function useTyping(
  stream: string | null | undefined,
  { throttleMs = 2_000, expireMs = 4_000 }: TypingOptions = {},
): { typists: Typist[]; notifyTyping: () => void } {
  const send = useSend();
  const [typists, setTypists] = useState<Typist[]>([]);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  const lastSent = useRef(Number.NEGATIVE_INFINITY);

  const forget = useCallback((userId: number) => {
    clearTimeout(timers.current.get(userId));
    timers.current.delete(userId);
    setTypists((current) => current.filter((typist) => typist.user_id !== userId));
  }, []);

  useEffect(() => {
    const pending = timers.current;
    lastSent.current = Number.NEGATIVE_INFINITY;
    return () => {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
      setTypists([]);
    };
  }, [stream]);

  const onTyping = (message: EphemeralMessage) => {
    if (message.type !== "comment.typing") return;
    const typist = { user_id: Number(message.user_id), username: String(message.username) };
    clearTimeout(timers.current.get(typist.user_id));
    timers.current.set(
      typist.user_id,
      setTimeout(() => forget(typist.user_id), expireMs),
    );
    setTypists((current) =>
      current.some((known) => known.user_id === typist.user_id) ? current : [...current, typist],
    );
  };
  useStream(
    stream,
    (event) => {
      // Their comment is what they were typing.
      if ((event.type as string) !== "comment.created") return;
      const author = typists.find((typist) => typist.username === event.updated_by);
      if (author !== undefined) forget(author.user_id);
    },
    { onEphemeral: onTyping },
  );

  const notifyTyping = useCallback(() => {
    if (!stream) return;
    const now = Date.now();
    if (now - lastSent.current < throttleMs) return;
    lastSent.current = now;
    // A lost typing hint is harmless (the next keystroke after the throttle sends another).
    send(stream, "typing").catch(() => undefined);
  }, [send, stream, throttleMs]);

  return { typists, notifyTyping };
}
