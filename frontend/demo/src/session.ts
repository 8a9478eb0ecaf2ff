/**
 * The signed-in user's JWTs. Held in memory only, so nothing in storage is left for an injected
 * script to read; a reload signs the user out.
 */
import { useSyncExternalStore } from "react";

export interface Tokens {
  access: string;
  refresh: string;
}

let tokens: Tokens | null = null;
const listeners = new Set<() => void>();

export const session = {
  tokens: (): Tokens | null => tokens,
  set(next: Tokens | null): void {
    tokens = next;
    for (const listener of listeners) listener();
  },
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

/** The current access JWT; re-renders when it changes. */
export function useAccessToken(): string | null {
  return useSyncExternalStore(session.subscribe, () => tokens?.access ?? null);
}
