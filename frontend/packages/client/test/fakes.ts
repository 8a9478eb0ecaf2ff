/** Test doubles for the client's seams: a scriptable WebSocket, JWTs and the ticket endpoint. */
import { vi } from "vitest";
import { SynclineClient } from "../src/client.js";
import type { SynclineClientOptions, WebSocketLike } from "../src/options.js";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** A WebSocket whose server side the test plays. */
export class FakeWebSocket implements WebSocketLike {
  readyState = CONNECTING;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  /** Frames the client sent, parsed. */
  readonly sent: Array<Record<string, unknown>> = [];
  /** The arguments of the client's close() call, if it made one. */
  closedWith: { code?: number; reason?: string } | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = CLOSING;
  }

  /** Frames of one type the client sent. */
  sentOfType(type: string): Array<Record<string, unknown>> {
    return this.sent.filter((frame) => frame.type === type);
  }

  acceptConnection(): void {
    this.readyState = OPEN;
    this.onopen?.(new Event("open"));
  }

  receive(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent);
  }

  closeFromServer(code: number, reason = ""): void {
    this.readyState = CLOSED;
    this.onclose?.({ code, reason } as CloseEvent);
  }
}

/** A JWT whose payload is `claims`; the signature is never checked by the client. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const encode = (value: object) =>
    btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}.signature`;
}

/** A fetch that answers every ws-ticket request with a new ticket: ticket-1, ticket-2, ... */
export function ticketEndpoint() {
  let issued = 0;
  return vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => {
    issued += 1;
    return new Response(JSON.stringify({ ticket: `ticket-${issued}`, expires_in: 30 }), { status: 200 });
  });
}

/**
 * A client wired to fakes. Timers are vitest's fake timers (installed by the test); `random` is
 * fixed at 0.5 unless overridden, so backoff delays are predictable. The token callbacks returned
 * are the defaults; a test that overrides one keeps its own reference.
 */
export function setup(overrides: Partial<SynclineClientOptions> = {}) {
  const sockets: FakeWebSocket[] = [];
  class RecordedWebSocket extends FakeWebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  const fetch = ticketEndpoint();
  const getAccessToken = vi.fn(() => "access-1");
  const refreshAccessToken = vi.fn(async (): Promise<string | null> => "access-2");
  const client = new SynclineClient({
    url: "ws://app.test/ws/",
    apiBase: "http://app.test",
    auth: "token",
    getAccessToken,
    refreshAccessToken,
    WebSocket: RecordedWebSocket,
    fetch,
    random: () => 0.5,
    ...overrides,
  });
  /** The most recent socket; fails the test when none was opened. */
  const socket = (): FakeWebSocket => {
    const last = sockets.at(-1);
    if (last === undefined) throw new Error("no socket was opened");
    return last;
  };
  return { client, sockets, socket, fetch, getAccessToken, refreshAccessToken };
}

/** Lets pending promises (token, ticket) settle and runs timers due within `ms`. */
export async function advance(ms = 0): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}
