/** Small pieces of the demo's live behaviour: row highlights and the connection's phase. */
import { useWebSocket } from "@syncline/react";
import { useCallback, useEffect, useRef, useState } from "react";

const FLASH_MS = 2_000;

/** Ids of rows an event just changed, each for two seconds, and `flash(id)` to add one. */
export function useFlash(): [ReadonlySet<number>, (id: number) => void] {
  const [flashed, setFlashed] = useState<ReadonlySet<number>>(new Set());
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach((timer) => clearTimeout(timer));
  }, []);
  const flash = useCallback((id: number) => {
    clearTimeout(timers.current.get(id));
    setFlashed((current) => new Set(current).add(id));
    timers.current.set(
      id,
      setTimeout(() => {
        timers.current.delete(id);
        setFlashed((current) => {
          const next = new Set(current);
          next.delete(id);
          return next;
        });
      }, FLASH_MS),
    );
  }, []);
  return [flashed, flash];
}

export type Phase = "signed-out" | "connecting" | "live" | "reconnecting" | "resumed";

const RESUMED_MS = 8_000;

/**
 * The socket's status as the user should read it: `resumed` for a while after the socket came
 * back from `reconnecting` (the streams then replay what was missed), `live` otherwise when open.
 */
export function useConnectionPhase(): Phase {
  const { status } = useWebSocket();
  const previous = useRef(status);
  const [resumedAt, setResumedAt] = useState<number | null>(null);
  useEffect(() => {
    if (status === "open" && previous.current === "reconnecting") setResumedAt(Date.now());
    if (status !== "open") setResumedAt(null);
    previous.current = status;
  }, [status]);
  useEffect(() => {
    if (resumedAt === null) return;
    const timer = setTimeout(() => setResumedAt(null), RESUMED_MS);
    return () => clearTimeout(timer);
  }, [resumedAt]);
  if (status === "closed") return "signed-out";
  if (status === "open") return resumedAt === null ? "live" : "resumed";
  return status;
}
