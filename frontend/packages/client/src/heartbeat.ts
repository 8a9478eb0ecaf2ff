/**
 * Pings on an interval and declares the socket dead when the pong does not come back in time.
 * A half-open connection (a laptop waking from sleep, a NAT entry timed out) raises no close event
 * for minutes; only the missing pong shows it.
 */
import type { Timers } from "./options.js";

export interface HeartbeatOptions {
  intervalMs: number;
  timeoutMs: number;
  sendPing: () => void;
  onDead: () => void;
}

export class Heartbeat {
  // One timer at a time: until the next ping, then until that ping's deadline.
  private timer: unknown = null;

  constructor(
    private readonly timers: Timers,
    private readonly options: HeartbeatOptions,
  ) {}

  start(): void {
    this.stop();
    this.timer = this.timers.setTimeout(() => this.ping(), this.options.intervalMs);
  }

  /** A pong arrived: the socket is alive, so wait for the next ping. */
  pong(): void {
    this.start();
  }

  stop(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private ping(): void {
    this.options.sendPing();
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.options.onDead();
    }, this.options.timeoutMs);
  }
}
