import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ConnectionStatus, DisconnectInfo } from "../src/client.js";
import { advance, fakeJwt, setup } from "./fakes.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("authentication", () => {
  it("connects with a one-use ticket obtained with the access token", async () => {
    const { client, socket, fetch } = setup({ auth: "ticket" });
    client.connect();
    await advance();

    expect(fetch).toHaveBeenCalledWith("http://app.test/api/auth/ws-ticket/", {
      method: "POST",
      headers: { Authorization: "Bearer access-1" },
    });
    expect(socket().url).toBe("ws://app.test/ws/?ticket=ticket-1");
  });

  it("fetches a new ticket for every connection", async () => {
    const { client, socket } = setup({ auth: "ticket" });
    client.connect();
    await advance();
    socket().closeFromServer(1006);
    await advance(1_000);

    expect(socket().url).toBe("ws://app.test/ws/?ticket=ticket-2");
  });

  it("can connect with the token itself", async () => {
    const { client, socket, fetch } = setup({ auth: "token" });
    client.connect();
    await advance();

    expect(fetch).not.toHaveBeenCalled();
    expect(socket().url).toBe("ws://app.test/ws/?token=access-1");
  });

  it("refreshes an expired token before connecting", async () => {
    const expired = fakeJwt({ exp: Math.floor(Date.now() / 1000) - 60 });
    const { client, socket, refreshAccessToken } = setup({ getAccessToken: () => expired });
    client.connect();
    await advance();

    expect(refreshAccessToken).toHaveBeenCalledOnce();
    expect(socket().url).toBe("ws://app.test/ws/?token=access-2");
  });

  it("refreshes the token when the ticket endpoint answers 401", async () => {
    const fetch = vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
      const authorization = new Headers(init?.headers).get("Authorization");
      return authorization === "Bearer access-2"
        ? new Response(JSON.stringify({ ticket: "fresh", expires_in: 30 }))
        : new Response("{}", { status: 401 });
    });
    const { client, socket, refreshAccessToken } = setup({ auth: "ticket", fetch });
    client.connect();
    await advance(1_000);

    expect(refreshAccessToken).toHaveBeenCalledOnce();
    expect(socket().url).toBe("ws://app.test/ws/?ticket=fresh");
  });
});

describe("close codes", () => {
  it("4401: gets a fresh token and reconnects with it", async () => {
    const { client, sockets, socket, refreshAccessToken } = setup();
    client.connect();
    await advance();
    socket().acceptConnection();

    socket().closeFromServer(4401, "token expired");
    await advance(1_000);

    expect(refreshAccessToken).toHaveBeenCalledOnce();
    expect(sockets).toHaveLength(2);
    expect(socket().url).toBe("ws://app.test/ws/?token=access-2");
  });

  it("4401: stops and reports when no fresh token can be had", async () => {
    const { client, sockets, socket } = setup({ refreshAccessToken: async () => null });
    const unauthorized = vi.fn();
    client.on("unauthorized", unauthorized);
    client.connect();
    await advance();
    socket().acceptConnection();

    socket().closeFromServer(4401);
    await advance(60_000);

    expect(unauthorized).toHaveBeenCalledOnce();
    expect(client.status).toBe("closed");
    expect(sockets).toHaveLength(1);
  });

  it.each([4403, 4404])("%i: reports and does not retry", async (code) => {
    const { client, sockets, socket } = setup();
    const disconnects: DisconnectInfo[] = [];
    client.on("disconnect", (info) => disconnects.push(info));
    client.connect();
    await advance();
    socket().acceptConnection();

    socket().closeFromServer(code, "refused");
    await advance(60_000);

    expect(disconnects).toEqual([{ code, reason: "refused", reconnecting: false }]);
    expect(client.status).toBe("closed");
    expect(sockets).toHaveLength(1);
  });

  it.each([4408, 4429, 1006, 1011])("%i: reconnects after a backoff delay", async (code) => {
    const { client, sockets, socket } = setup({ random: () => 0.5 });
    client.connect();
    await advance();
    socket().acceptConnection();

    socket().closeFromServer(code);
    expect(client.status).toBe("reconnecting");
    await advance(499);
    expect(sockets).toHaveLength(1);
    await advance(1);
    expect(sockets).toHaveLength(2);
  });
});

describe("close() for logout", () => {
  it("closes the socket with 1000 and never reconnects", async () => {
    const { client, sockets, socket } = setup();
    const statuses: ConnectionStatus[] = [];
    client.on("status", (status) => statuses.push(status));
    client.connect();
    await advance();
    socket().acceptConnection();

    client.close();
    socket().closeFromServer(1000);
    await advance(120_000);

    expect(socket().closedWith).toEqual({ code: 1000, reason: "client closed" });
    expect(sockets).toHaveLength(1);
    expect(statuses).toEqual(["connecting", "open", "closed"]);
  });

  it("cancels a pending reconnect", async () => {
    const { client, sockets, socket } = setup();
    client.connect();
    await advance();
    socket().closeFromServer(1006);

    client.close();
    await advance(120_000);

    expect(sockets).toHaveLength(1);
    expect(client.status).toBe("closed");
  });

  it("abandons a connection still waiting for its ticket", async () => {
    let answer: (response: Response) => void = () => {};
    const fetch = vi.fn(() => new Promise<Response>((resolve) => (answer = resolve)));
    const { client, sockets } = setup({ auth: "ticket", fetch });
    client.connect();
    await advance();

    client.close();
    answer(new Response(JSON.stringify({ ticket: "late", expires_in: 30 })));
    await advance(120_000);

    expect(sockets).toHaveLength(0);
  });
});
