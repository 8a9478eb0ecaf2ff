import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { advance, fakeJwt, setup } from "./fakes.js";

beforeEach(() => vi.useFakeTimers({ now: new Date("2026-11-21T12:00:00Z") }));
afterEach(() => vi.useRealTimers());

/** An access JWT that expires `seconds` from now. */
function tokenExpiringIn(seconds: number, jti: string): string {
  return fakeJwt({ user_id: 7, jti, exp: Math.floor(Date.now() / 1000) + seconds });
}

async function connectedWith(token: string, overrides: Parameters<typeof setup>[0] = {}) {
  const next = tokenExpiringIn(300, "next");
  const refreshAccessToken = vi.fn(async () => next);
  const harness = setup({
    getAccessToken: () => token,
    refreshAccessToken,
    heartbeat: { intervalMs: 3_600_000 },
    ...overrides,
  });
  harness.client.connect();
  await advance();
  harness.socket().acceptConnection();
  return { ...harness, refreshAccessToken, next };
}

describe("auth.refresh", () => {
  it("sends a new token 30 s before the current one expires", async () => {
    const { socket, refreshAccessToken, next } = await connectedWith(tokenExpiringIn(120, "first"));

    await advance(89_999);
    expect(socket().sentOfType("auth.refresh")).toEqual([]);
    await advance(1);

    expect(refreshAccessToken).toHaveBeenCalledOnce();
    expect(socket().sentOfType("auth.refresh")).toEqual([{ type: "auth.refresh", token: next }]);
  });

  it("honours a configured lead time", async () => {
    const { socket } = await connectedWith(tokenExpiringIn(120, "first"), { authRefreshLeadMs: 10_000 });

    await advance(109_999);
    expect(socket().sentOfType("auth.refresh")).toEqual([]);
    await advance(1);
    expect(socket().sentOfType("auth.refresh")).toHaveLength(1);
  });

  it("keeps renewing, each time before the newest token expires", async () => {
    const second = tokenExpiringIn(300, "second");
    const third = tokenExpiringIn(600, "third");
    const refreshAccessToken = vi.fn().mockResolvedValueOnce(second).mockResolvedValueOnce(third);
    const { socket } = await connectedWith(tokenExpiringIn(120, "first"), { refreshAccessToken });

    await advance(90_000);
    await advance(180_000 - 1);
    expect(socket().sentOfType("auth.refresh")).toEqual([{ type: "auth.refresh", token: second }]);
    await advance(1);

    expect(socket().sentOfType("auth.refresh")).toEqual([
      { type: "auth.refresh", token: second },
      { type: "auth.refresh", token: third },
    ]);
  });

  it("does not resend a token that expires no later than the current one", async () => {
    const first = tokenExpiringIn(120, "first");
    const { socket } = await connectedWith(first, { refreshAccessToken: async () => first });

    await advance(200_000);

    expect(socket().sentOfType("auth.refresh")).toEqual([]);
  });

  it("uses the app's token when the app already refreshed it", async () => {
    let current = tokenExpiringIn(120, "first");
    const { socket, refreshAccessToken } = await connectedWith(current, { getAccessToken: () => current });
    current = tokenExpiringIn(600, "refreshed-by-app");

    await advance(90_000);

    expect(refreshAccessToken).not.toHaveBeenCalled();
    expect(socket().sentOfType("auth.refresh")).toEqual([{ type: "auth.refresh", token: current }]);
  });

  it("sends nothing for a token without exp", async () => {
    const { socket, refreshAccessToken } = await connectedWith("opaque-token");

    await advance(3_000_000);

    expect(refreshAccessToken).not.toHaveBeenCalled();
    expect(socket().sentOfType("auth.refresh")).toEqual([]);
  });
});
