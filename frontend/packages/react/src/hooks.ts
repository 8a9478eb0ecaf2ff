/** The base hooks over the provider's client. Every subscription ends when its component unmounts. */
import type { StreamEvent, StreamHandlers } from "@syncline/client";
import { streams } from "@syncline/client";
import { useContext, useEffect, useRef, useState } from "react";
import { SynclineContext, type SynclineContextValue } from "./context.js";

/** A primary key as the API returns it. */
export type Id = number | string;

/** The provider's client and its connection status (`connecting`, `open`, `reconnecting`, `closed`). */
export function useWebSocket(): SynclineContextValue {
  return useContext(SynclineContext);
}

/**
 * Calls `onEvent` for each new event of `stream` (none while `stream` is null or signed out).
 * The callbacks may change on every render without resubscribing.
 */
export function useStream<S extends string>(
  stream: S | null | undefined,
  onEvent: (event: StreamEvent<S>) => void,
  handlers: Omit<StreamHandlers<StreamEvent<S>>, "onEvent"> = {},
): void {
  const { client } = useWebSocket();
  const latest = useRef({ ...handlers, onEvent });
  useEffect(() => {
    latest.current = { ...handlers, onEvent };
  });
  useEffect(() => {
    if (client === null || !stream) return;
    return client.subscribe(stream, {
      onEvent: (event) => latest.current.onEvent(event),
      onSubscribed: () => latest.current.onSubscribed?.(),
      onResumed: (replayed) => latest.current.onResumed?.(replayed),
      onReset: () => latest.current.onReset?.(),
      onError: (error) => latest.current.onError?.(error),
      onEphemeral: (message) => latest.current.onEphemeral?.(message),
    });
  }, [client, stream]);
}

/** The most recent event of `stream`, or null before the first one. */
export function useLatestEvent<S extends string>(stream: S | null | undefined): StreamEvent<S> | null {
  const [latest, setLatest] = useState<{ stream: string; event: StreamEvent<S> } | null>(null);
  useStream(stream, (event) => setLatest({ stream: event.stream, event }));
  // An event of the previous stream is no answer once the component follows another one.
  return latest !== null && latest.stream === stream ? latest.event : null;
}

export interface Progress {
  current: number;
  total: number;
  percent: number;
  /** The job's status: pending, started, completed or failed. */
  status: string;
  message: string;
}

/** The latest progress of a background job. A late subscriber gets the job's current state first. */
export function useProgress(jobId: Id | null | undefined): Progress | null {
  const event = useLatestEvent(jobId == null ? null : streams.job(jobId));
  if (event === null) return null;
  const { current, total, percent, status, message } = event;
  return { current, total, percent, status, message };
}
