import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelay } from "../src/backoff.js";
import { advance, setup } from "./fakes.js";

const options = { baseMs: 1_000, capMs: 30_000 };

describe("backoffDelay", () => {
  it("stays within [0, base * 2^attempt)", () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const ceiling = 1_000 * 2 ** attempt;
      expect(backoffDelay(attempt, options, () => 0)).toBe(0);
      expect(backoffDelay(attempt, options, () => 0.999_999)).toBeLessThan(ceiling);
      expect(backoffDelay(attempt, options, () => 0.999_999)).toBeGreaterThan(ceiling * 0.99);
    }
  });

  it("never exceeds the cap, however many attempts failed", () => {
    expect(backoffDelay(5, options, () => 0.999_999)).toBeLessThan(30_000);
    expect(backoffDelay(5_000, options, () => 0.999_999)).toBeLessThan(30_000);
  });

  it("spreads delays over the whole range (full jitter)", () => {
    expect(backoffDelay(3, options, () => 0.25)).toBe(2_000);
    expect(backoffDelay(3, options, () => 0.5)).toBe(4_000);
    expect(backoffDelay(3, options, () => 0.75)).toBe(6_000);
  });
});

describe("reconnection delays", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** Time from a drop to the next socket, found by stepping the fake clock. */
  async function delayUntilNextSocket(sockets: unknown[]): Promise<number> {
    const before = sockets.length;
    let waited = 0;
    while (sockets.length === before) {
      await advance(100);
      waited += 100;
    }
    return waited;
  }

  it("doubles while connections keep failing", async () => {
    const { client, sockets, socket } = setup({ random: () => 0.99 });
    client.connect();
    await advance();
    const delays = [];
    for (let i = 0; i < 4; i++) {
      socket().closeFromServer(1006);
      delays.push(await delayUntilNextSocket(sockets));
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it("starts over after a connection stayed up", async () => {
    const { client, sockets, socket } = setup({ random: () => 0.99, reconnect: { stableMs: 5_000 } });
    client.connect();
    await advance();
    socket().closeFromServer(1006);
    await delayUntilNextSocket(sockets);
    socket().closeFromServer(1006);
    expect(await delayUntilNextSocket(sockets)).toBe(2_000);

    socket().acceptConnection();
    await advance(5_000);
    socket().closeFromServer(1006);
    expect(await delayUntilNextSocket(sockets)).toBe(1_000);
  });

  it("keeps backing off when the server drops the socket right after accepting it", async () => {
    const { client, sockets, socket } = setup({ random: () => 0.99, reconnect: { stableMs: 5_000 } });
    client.connect();
    await advance();
    const delays = [];
    for (let i = 0; i < 3; i++) {
      socket().acceptConnection();
      socket().closeFromServer(1011);
      delays.push(await delayUntilNextSocket(sockets));
    }
    expect(delays).toEqual([1_000, 2_000, 4_000]);
  });
});
