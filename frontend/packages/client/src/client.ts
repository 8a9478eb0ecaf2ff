/**
 * One WebSocket to the multiplexed `/ws/` endpoint, carrying every stream the app listens to.
 * It authenticates, reconnects with backoff, resumes each stream after its last event, watches the
 * socket with heartbeats and renews the token before it expires; it sends client messages and
 * settles their replies, and keeps the member sets of presence streams (docs/protocol.md sections 3 to 7).
 */
import { backoffDelay } from "./backoff.js";
import { ABNORMAL_CLOSURE, CloseCode, DEFAULT_SEND_TIMEOUT_MS, FINAL_CLOSE_CODES, NORMAL_CLOSURE } from "./constants.js";
import { UnauthorizedError, authenticatedUrl } from "./credentials.js";
import { Emitter } from "./emitter.js";
import { Heartbeat } from "./heartbeat.js";
import { jwtExpiresAt } from "./jwt.js";
import { type ResolvedOptions, type SynclineClientOptions, type WebSocketLike, resolveOptions } from "./options.js";
import { type PresenceHandlers, PresenceState } from "./presence.js";
import { type ClientFrame, type PresenceMember, isPresenceMessage, parseServerMessage } from "./protocol.js";
import { type StreamHandlers, StreamRegistry } from "./registry.js";
import { PendingReplies, SendError } from "./replies.js";
import type { StreamEvent } from "./streams.js";

export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "closed";

export interface DisconnectInfo {
  code: number;
  reason: string;
  /** False after 4403 and 4404: the client has stopped and will not retry. */
  reconnecting: boolean;
}

export interface ClientEvents {
  status: ConnectionStatus;
  disconnect: DisconnectInfo;
  /** No valid access token could be had: the user must sign in again. The client has stopped. */
  unauthorized: { detail: string };
}

export interface SendOptions {
  /** How long to wait for the reply before rejecting with `timeout`. Default 10 s. */
  timeout?: number;
}

/** One listener's view of a presence stream; `stop()` ends it (and the subscription with the last one). */
export interface PresenceSubscription {
  /** The members known now, ordered by username. */
  members(): PresenceMember[];
  /** Whether the member set of the current connection has arrived. */
  readonly synced: boolean;
  stop(): void;
}

interface PresenceChannel {
  state: PresenceState;
  listeners: Set<PresenceHandlers>;
  unsubscribe: () => void;
}

const OPEN = 1;

export class SynclineClient {
  private readonly options: ResolvedOptions;
  private readonly registry = new StreamRegistry();
  private readonly emitter = new Emitter<ClientEvents>();
  private readonly heartbeat: Heartbeat;
  private readonly replies: PendingReplies;
  private readonly presenceChannels = new Map<string, PresenceChannel>();
  private currentStatus: ConnectionStatus = "closed";
  private running = false;
  private socket: WebSocketLike | null = null;
  // Bumped by each connection attempt and by close(), so an attempt overtaken while it awaited a
  // token or a ticket gives up instead of opening a second socket.
  private attemptId = 0;
  private failedAttempts = 0;
  private mustRefreshToken = false;
  private socketToken: string | null = null;
  private reconnectTimer: unknown = null;
  private stableTimer: unknown = null;
  private authRefreshTimer: unknown = null;

  constructor(options: SynclineClientOptions) {
    this.options = resolveOptions(options);
    this.heartbeat = new Heartbeat(this.options.timers, {
      ...this.options.heartbeat,
      sendPing: () => this.sendFrame({ type: "ping" }),
      onDead: () => this.handleDeadSocket(),
    });
    this.replies = new PendingReplies(this.options.timers);
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /** Listens to `status`, `disconnect` or `unauthorized`; returns the function that stops listening. */
  on<K extends keyof ClientEvents>(name: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.emitter.on(name, listener);
  }

  /** Opens the socket (once; later calls do nothing until close()). */
  connect(): void {
    if (this.running) return;
    this.running = true;
    this.failedAttempts = 0;
    this.setStatus("connecting");
    void this.open();
  }

  /** Closes the socket with 1000 and stops reconnecting, as on logout. Stream listeners stay registered. */
  close(): void {
    this.running = false;
    this.attemptId++;
    this.clearTimer("reconnectTimer");
    const socket = this.socket;
    this.teardown();
    socket?.close(NORMAL_CLOSURE, "client closed");
    this.setStatus("closed");
  }

  /**
   * Listens to a stream; returns the function that stops listening. Listeners of the same stream
   * share one server subscription, which lasts across reconnects and resumes where it left off.
   */
  subscribe<S extends string>(stream: S, handlers: StreamHandlers<StreamEvent<S>>): () => void {
    // The registry routes by stream name, so each handler only ever sees events of type StreamEvent<S>.
    const stored = handlers as StreamHandlers;
    const frame = this.registry.add(stream, stored);
    if (frame !== null) this.sendFrame(frame);
    return () => {
      if (this.registry.remove(stream, stored)) this.sendFrame({ type: "unsubscribe", stream });
    };
  }

  /**
   * Sends a client message to a stream this client listens to and resolves with the reply's data.
   * Rejects with a `SendError` whose `code` is the reply's (`invalid` with `fields`, `forbidden`,
   * `not_found`, `not_subscribed`, `unknown_event`, `rate_limited`, `server_error`), or `timeout`,
   * or `disconnected` when the socket is not open or closes before the reply.
   */
  send(
    stream: string,
    event: string,
    data: Record<string, unknown> = {},
    { timeout = DEFAULT_SEND_TIMEOUT_MS }: SendOptions = {},
  ): Promise<Record<string, unknown>> {
    if (this.socket?.readyState !== OPEN) {
      return Promise.reject(new SendError("disconnected", "the socket is not open"));
    }
    const { ref, reply } = this.replies.add(timeout);
    this.sendFrame({ type: "message", ref, stream, event, data });
    return reply;
  }

  /**
   * Follows who is subscribed to a presence stream (subscribing to it as `subscribe()` does).
   * `onSync` gets every full member set: at once when one is already known, then after each
   * (re)connection; `onJoin` and `onLeave` get the changes in between.
   */
  presence(stream: string, handlers: PresenceHandlers = {}): PresenceSubscription {
    let channel = this.presenceChannels.get(stream);
    if (channel === undefined) {
      const listeners = new Set<PresenceHandlers>();
      const state = new PresenceState(
        {
          onSync: (sync) => listeners.forEach((listener) => listener.onSync?.(sync)),
          onJoin: (member) => listeners.forEach((listener) => listener.onJoin?.(member)),
          onLeave: (member) => listeners.forEach((listener) => listener.onLeave?.(member)),
        },
        () => this.sendFrame({ type: "presence.get", stream }),
      );
      channel = { state, listeners, unsubscribe: this.subscribe(stream, {}) };
      this.presenceChannels.set(stream, channel);
    } else if (channel.state.synced) {
      handlers.onSync?.(channel.state.snapshot());
    }
    const joined = channel;
    joined.listeners.add(handlers);
    return {
      members: () => joined.state.list(),
      get synced() {
        return joined.state.synced;
      },
      stop: () => {
        if (!joined.listeners.delete(handlers) || joined.listeners.size > 0) return;
        this.presenceChannels.delete(stream);
        joined.unsubscribe();
      },
    };
  }

  private async open(): Promise<void> {
    const attemptId = ++this.attemptId;
    let socket: WebSocketLike;
    try {
      const token = await this.connectionToken();
      if (attemptId !== this.attemptId) return;
      if (token === null) return this.stopUnauthorized("no access token");
      const url = await authenticatedUrl(this.options, token);
      if (attemptId !== this.attemptId) return;
      socket = new this.options.WebSocket(url);
      this.socketToken = token;
    } catch (error) {
      if (attemptId !== this.attemptId) return;
      if (error instanceof UnauthorizedError) this.mustRefreshToken = true;
      return this.scheduleReconnect();
    }
    this.socket = socket;
    socket.onopen = () => this.handleOpen();
    socket.onmessage = (event) => this.handleMessage(event.data);
    socket.onclose = (event) => this.handleClose(event.code, event.reason);
  }

  /** After a refusal, a newly refreshed token; otherwise the app's token, refreshed if it has expired. */
  private async connectionToken(): Promise<string | null> {
    if (!this.mustRefreshToken) return this.tokenValidFor(0);
    const token = await this.options.refreshAccessToken();
    this.mustRefreshToken = false;
    return token;
  }

  /** The app's token if it stays valid for `ms` more; otherwise a refreshed one. */
  private async tokenValidFor(ms: number): Promise<string | null> {
    const token = await this.options.getAccessToken();
    const expiresAt = token === null ? null : jwtExpiresAt(token);
    if (token !== null && (expiresAt === null || expiresAt - this.options.now() > ms)) return token;
    return this.options.refreshAccessToken();
  }

  private handleOpen(): void {
    this.setStatus("open");
    // Only a connection that stays up resets the backoff: one the server drops right after the
    // handshake (a crash loop, a load balancer refusing) must keep backing off.
    this.stableTimer = this.options.timers.setTimeout(() => {
      this.stableTimer = null;
      this.failedAttempts = 0;
    }, this.options.reconnect.stableMs);
    for (const frame of this.registry.subscribeFrames()) this.sendFrame(frame);
    this.heartbeat.start();
    if (this.socketToken !== null) this.scheduleAuthRefresh(this.socketToken);
  }

  private handleMessage(data: unknown): void {
    const message = parseServerMessage(data);
    if (message === null) return;
    if (message.type === "pong") this.heartbeat.pong();
    else if (message.type === "reply") this.replies.settle(message);
    else if (isPresenceMessage(message)) this.presenceChannels.get(message.stream)?.state.handle(message);
    else this.registry.dispatch(message);
  }

  private handleClose(code: number, reason: string): void {
    this.teardown();
    if (code === CloseCode.UNAUTHENTICATED) this.mustRefreshToken = true;
    const reconnecting = !FINAL_CLOSE_CODES.has(code);
    this.emitter.emit("disconnect", { code, reason, reconnecting });
    if (reconnecting) {
      this.scheduleReconnect();
    } else {
      this.running = false;
      this.setStatus("closed");
    }
  }

  private handleDeadSocket(): void {
    const socket = this.socket;
    this.handleClose(ABNORMAL_CLOSURE, "no pong");
    socket?.close();
  }

  private scheduleReconnect(): void {
    this.setStatus("reconnecting");
    const delay = backoffDelay(this.failedAttempts++, this.options.reconnect, this.options.random);
    this.reconnectTimer = this.options.timers.setTimeout(() => {
      this.reconnectTimer = null;
      void this.open();
    }, delay);
  }

  /** Renews the socket's authentication `authRefreshLeadMs` before the token expires. */
  private scheduleAuthRefresh(token: string): void {
    const expiresAt = jwtExpiresAt(token);
    if (expiresAt === null) return;
    const delay = Math.max(0, expiresAt - this.options.authRefreshLeadMs - this.options.now());
    this.authRefreshTimer = this.options.timers.setTimeout(() => {
      this.authRefreshTimer = null;
      void this.refreshSocketAuth(expiresAt);
    }, delay);
  }

  private async refreshSocketAuth(currentExpiry: number): Promise<void> {
    const socket = this.socket;
    // A failure here needs no handling: the server closes with 4401 at expiry and the reconnect refreshes.
    const token = await this.tokenValidFor(this.options.authRefreshLeadMs).catch(() => null);
    if (token === null || this.socket !== socket) return;
    const expiresAt = jwtExpiresAt(token);
    // A token that expires no later than the current one would only schedule this same refresh again.
    if (expiresAt === null || expiresAt <= currentExpiry) return;
    this.socketToken = token;
    this.sendFrame({ type: "auth.refresh", token });
    this.scheduleAuthRefresh(token);
  }

  private stopUnauthorized(detail: string): void {
    this.running = false;
    this.setStatus("closed");
    this.emitter.emit("unauthorized", { detail });
  }

  /** Forgets the current socket: its handlers, heartbeat, per-connection timers, replies and presence. */
  private teardown(): void {
    this.heartbeat.stop();
    this.replies.reset("the socket closed before the reply");
    for (const channel of this.presenceChannels.values()) channel.state.disconnected();
    this.clearTimer("stableTimer");
    this.clearTimer("authRefreshTimer");
    if (this.socket !== null) {
      this.socket.onopen = null;
      this.socket.onmessage = null;
      this.socket.onclose = null;
      this.socket = null;
    }
  }

  private clearTimer(name: "reconnectTimer" | "stableTimer" | "authRefreshTimer"): void {
    if (this[name] !== null) this.options.timers.clearTimeout(this[name]);
    this[name] = null;
  }

  /** Sends a frame when the socket is open; frames meant for a closed socket are rebuilt on reconnect. */
  private sendFrame(frame: ClientFrame): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(frame));
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    this.emitter.emit("status", status);
  }
}
