/** The client's settings, their defaults, and the seams (socket, timers, clock, random, fetch) tests replace. */

/** The part of the browser's WebSocket the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SynclineClientOptions {
  /** The multiplexed endpoint. Default `/ws/` on the page's host; a relative or http(s) URL is turned into ws(s). */
  url?: string;
  /** Where the HTTP API lives, for the ticket request. Default: the page's origin. */
  apiBase?: string;
  /**
   * How the socket authenticates. `ticket` (default) trades the access token for a one-use ticket
   * first, so the JWT never appears in URLs and server logs; `token` sends `?token=<access JWT>`.
   */
  auth?: "ticket" | "token";
  /** The app's current access JWT, or null when signed out. */
  getAccessToken: () => string | null | Promise<string | null>;
  /**
   * Gets a new access JWT (and stores it in the app). Resolve null when the session is over (the
   * client then stops and emits `unauthorized`); throw on a passing failure (it retries later).
   */
  refreshAccessToken?: () => Promise<string | null>;
  reconnect?: {
    /** Upper bound of the first reconnect delay. Default 1 s. */
    baseMs?: number;
    /** Upper bound of any reconnect delay. Default 30 s. */
    capMs?: number;
    /** A connection open this long resets the backoff to its first step. Default 10 s. */
    stableMs?: number;
  };
  heartbeat?: {
    /** Time between pings. Default 25 s, under common proxy idle timeouts (often 60 s). */
    intervalMs?: number;
    /** A pong later than this after its ping marks the socket dead. Default 10 s. */
    timeoutMs?: number;
  };
  /** How long before the access token's `exp` to send `auth.refresh`. Default 30 s. */
  authRefreshLeadMs?: number;
  WebSocket?: WebSocketConstructor;
  fetch?: typeof fetch;
  timers?: Timers;
  now?: () => number;
  /** Returns a number in [0, 1), like Math.random. */
  random?: () => number;
}

export interface ResolvedOptions {
  url: string;
  apiBase: string;
  auth: "ticket" | "token";
  getAccessToken: () => string | null | Promise<string | null>;
  refreshAccessToken: () => Promise<string | null>;
  reconnect: { baseMs: number; capMs: number; stableMs: number };
  heartbeat: { intervalMs: number; timeoutMs: number };
  authRefreshLeadMs: number;
  WebSocket: WebSocketConstructor;
  fetch: typeof fetch;
  timers: Timers;
  now: () => number;
  random: () => number;
}

// The defaults look the globals up at call time, so fakes installed after import (vi.useFakeTimers) apply.
const globalTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export function resolveOptions(options: SynclineClientOptions): ResolvedOptions {
  return {
    url: toWebSocketUrl(options.url ?? "/ws/"),
    apiBase: options.apiBase ?? "",
    auth: options.auth ?? "ticket",
    getAccessToken: options.getAccessToken,
    refreshAccessToken: options.refreshAccessToken ?? (async () => null),
    reconnect: { baseMs: 1_000, capMs: 30_000, stableMs: 10_000, ...options.reconnect },
    heartbeat: { intervalMs: 25_000, timeoutMs: 10_000, ...options.heartbeat },
    authRefreshLeadMs: options.authRefreshLeadMs ?? 30_000,
    WebSocket: options.WebSocket ?? globalThis.WebSocket,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    timers: options.timers ?? globalTimers,
    now: options.now ?? (() => Date.now()),
    random: options.random ?? Math.random,
  };
}

/** Resolves `url` against the page and switches http(s) to ws(s). */
function toWebSocketUrl(url: string): string {
  const resolved = new URL(url, globalThis.location?.href);
  if (resolved.protocol === "http:") resolved.protocol = "ws:";
  if (resolved.protocol === "https:") resolved.protocol = "wss:";
  return resolved.toString();
}
