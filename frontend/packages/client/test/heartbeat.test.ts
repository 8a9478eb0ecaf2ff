import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { advance, setup } from "./fakes.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function connected() {
  const harness = setup({ heartbeat: { intervalMs: 20_000, timeoutMs: 5_000 } });
  harness.client.connect();
  await advance();
  harness.socket().acceptConnection();
  return harness;
}

describe("heartbeat", () => {
  it("pings on an interval while pongs come back", async () => {
    const { client, sockets, socket } = await connected();

    for (let i = 1; i <= 3; i++) {
      await advance(20_000);
      expect(socket().sentOfType("ping")).toHaveLength(i);
      socket().receive({ type: "pong", status: "ok" });
    }

    expect(sockets).toHaveLength(1);
    expect(client.status).toBe("open");
  });

  it("treats a missing pong as a dead socket and reconnects", async () => {
    const { client, sockets } = await connected();
    const dead = sockets[0];
    const disconnect = vi.fn();
    client.on("disconnect", disconnect);

    await advance(20_000);
    await advance(4_999);
    expect(dead?.closedWith).toBeNull();
    await advance(1);

    expect(dead?.closedWith).not.toBeNull();
    expect(disconnect).toHaveBeenCalledWith({ code: 1006, reason: "no pong", reconnecting: true });
    await advance(1_000);
    expect(sockets).toHaveLength(2);
  });
});
