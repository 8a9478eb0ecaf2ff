/** Delays between reconnection attempts. */

export interface BackoffOptions {
  /** Upper bound of the first delay. */
  baseMs: number;
  /** No delay is ever longer than this. */
  capMs: number;
}

/**
 * Exponential backoff with full jitter: a uniformly random delay in [0, min(cap, base * 2^attempt)).
 * The jitter spreads the reconnects of every client dropped by the same server restart, instead of
 * bringing them back in synchronized waves.
 */
export function backoffDelay(attempt: number, { baseMs, capMs }: BackoffOptions, random: () => number): number {
  return random() * Math.min(capMs, baseMs * 2 ** attempt);
}
