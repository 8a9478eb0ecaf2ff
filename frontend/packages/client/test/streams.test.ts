import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RequestUpdatedEvent } from "../src/events.generated.js";
import { advance, setup } from "./fakes.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function requestEvent(id: string, requestId = 42): RequestUpdatedEvent {
  return {
    type: "request.updated",
    action: "approved",
    id,
    stream: "requests.unit.1",
    request_id: requestId,
    status: "approved",
    data: { id: requestId },
    updated_by: "alice",
    updated_at: "2026-11-21T12:34:56.789Z",
  };
}

/** A client with an open socket. */
async function connected(overrides: Parameters<typeof setup>[0] = {}) {
  const harness = setup(overrides);
  harness.client.connect();
  await advance();
  harness.socket().acceptConnection();
  return harness;
}

describe("subscriptions", () => {
  it("subscribes on open to streams registered before it", async () => {
    const { client, socket } = setup();
    client.subscribe("requests.unit.1", {});
    client.connect();
    await advance();
    socket().acceptConnection();

    expect(socket().sentOfType("subscribe")).toEqual([{ type: "subscribe", stream: "requests.unit.1" }]);
  });

  it("shares one subscription between listeners and ends it with the last one", async () => {
    const { client, socket } = await connected();
    const first = vi.fn();
    const second = vi.fn();
    const stopFirst = client.subscribe("requests.unit.1", { onEvent: first });
    const stopSecond = client.subscribe("requests.unit.1", { onEvent: second });

    socket().receive(requestEvent("1-0"));
    stopFirst();
    expect(socket().sentOfType("unsubscribe")).toEqual([]);
    stopSecond();

    expect(socket().sentOfType("subscribe")).toHaveLength(1);
    expect(socket().sentOfType("unsubscribe")).toEqual([{ type: "unsubscribe", stream: "requests.unit.1" }]);
    expect(first).toHaveBeenCalledOnce();
    expect(second).toHaveBeenCalledOnce();
  });

  it("routes events by their stream", async () => {
    const { client, socket } = await connected();
    const requests = vi.fn();
    const crates = vi.fn();
    client.subscribe("requests.unit.1", { onEvent: requests });
    client.subscribe("crates.unit.1", { onEvent: crates });

    socket().receive(requestEvent("1-0"));

    expect(requests).toHaveBeenCalledWith(requestEvent("1-0"));
    expect(crates).not.toHaveBeenCalled();
  });

  it("passes on no control message it does not act on", async () => {
    const { client, socket } = await connected();
    const onEvent = vi.fn();
    client.subscribe("requests.unit.1", { onEvent });

    socket().receive({ type: "unsubscribed", stream: "requests.unit.1" });
    socket().receive({ type: "auth.refreshed", expires_at: 1_763_762_000 });

    expect(onEvent).not.toHaveBeenCalled();
  });

  it("tells the listener the subscription was accepted", async () => {
    const { client, socket } = await connected();
    const onSubscribed = vi.fn();
    client.subscribe("requests.unit.1", { onSubscribed });

    socket().receive({ type: "subscribed", stream: "requests.unit.1" });

    expect(onSubscribed).toHaveBeenCalledOnce();
  });
});

describe("resume after a reconnect", () => {
  it("resubscribes with the last event id seen on each stream", async () => {
    const { client, socket } = await connected();
    client.subscribe("requests.unit.1", {});
    client.subscribe("crates.unit.1", {});
    socket().receive(requestEvent("1763762000123-0"));
    socket().receive(requestEvent("1763762000123-1"));

    socket().closeFromServer(1006);
    await advance(1_000);
    socket().acceptConnection();

    expect(socket().sentOfType("subscribe")).toEqual([
      { type: "subscribe", stream: "requests.unit.1", last_event_id: "1763762000123-1" },
      { type: "subscribe", stream: "crates.unit.1" },
    ]);
  });

  it("reports how many events the resume replayed", async () => {
    const { client, socket } = await connected();
    const onResumed = vi.fn();
    client.subscribe("requests.unit.1", { onResumed });

    socket().receive({ type: "stream.resumed", stream: "requests.unit.1", replayed: 3 });

    expect(onResumed).toHaveBeenCalledWith(3);
  });

  it("tells the app to refetch a stream that had no event yet once it is resubscribed after a reconnect", async () => {
    const { client, socket } = await connected();
    const quiet = vi.fn();
    const busy = vi.fn();
    client.subscribe("requests.unit.2", { onReset: quiet });
    client.subscribe("requests.unit.1", { onReset: busy });
    socket().receive({ type: "subscribed", stream: "requests.unit.2" });
    socket().receive({ type: "subscribed", stream: "requests.unit.1" });
    socket().receive(requestEvent("1-0"));
    expect(quiet).not.toHaveBeenCalled();

    socket().closeFromServer(1006);
    await advance(1_000);
    socket().acceptConnection();
    expect(quiet).not.toHaveBeenCalled(); // not before the server has the subscription again
    socket().receive({ type: "subscribed", stream: "requests.unit.2" });
    socket().receive({ type: "subscribed", stream: "requests.unit.1" });

    // requests.unit.1 resumes from its last id instead: the server replays or resets it.
    expect(quiet).toHaveBeenCalledOnce();
    expect(busy).not.toHaveBeenCalled();
  });

  it("tells the app to refetch on stream.reset", async () => {
    const { client, socket } = await connected();
    const onReset = vi.fn();
    const onEvent = vi.fn();
    client.subscribe("requests.unit.1", { onReset, onEvent });

    socket().receive({ type: "stream.reset", stream: "requests.unit.1" });

    expect(onReset).toHaveBeenCalledOnce();
    expect(onEvent).not.toHaveBeenCalled();
  });
});

describe("duplicate suppression", () => {
  it("drops events at or before the last id seen, comparing ids as numbers", async () => {
    const { client, socket } = await connected();
    const seen: string[] = [];
    client.subscribe("requests.unit.1", { onEvent: (event) => seen.push(event.id) });

    for (const id of ["9-0", "9-1", "9-1", "9-0", "10-0", "9-5", "10-2", "10-10", "10-9"]) {
      socket().receive(requestEvent(id));
    }

    expect(seen).toEqual(["9-0", "9-1", "10-0", "10-2", "10-10"]);
  });

  it("drops the events a resume replays twice", async () => {
    const { client, socket } = await connected();
    const seen: string[] = [];
    client.subscribe("requests.unit.1", { onEvent: (event) => seen.push(event.id) });
    socket().receive(requestEvent("1-0"));
    socket().receive(requestEvent("2-0"));

    socket().closeFromServer(1006);
    await advance(1_000);
    socket().acceptConnection();
    for (const id of ["1-0", "2-0", "3-0"]) socket().receive(requestEvent(id));

    expect(seen).toEqual(["1-0", "2-0", "3-0"]);
  });

  it("keeps other listeners going when one throws", async () => {
    const { client, socket } = await connected();
    const failure = new Error("listener bug");
    const healthy = vi.fn();
    const uncaught: unknown[] = [];
    const queueMicrotask = vi.spyOn(globalThis, "queueMicrotask").mockImplementation((callback) => {
      try {
        callback();
      } catch (error) {
        uncaught.push(error);
      }
    });
    client.subscribe("requests.unit.1", {
      onEvent: () => {
        throw failure;
      },
    });
    client.subscribe("requests.unit.1", { onEvent: healthy });

    socket().receive(requestEvent("1-0"));
    queueMicrotask.mockRestore();

    expect(healthy).toHaveBeenCalledOnce();
    expect(uncaught).toEqual([failure]);
  });
});

describe("refused streams", () => {
  it("4403: reports the refusal and stops asking for the stream", async () => {
    const { client, socket } = await connected();
    const onError = vi.fn();
    client.subscribe("audit.unit.2", { onError });
    client.subscribe("requests.unit.1", {});

    socket().receive({ type: "error", stream: "audit.unit.2", code: 4403, detail: "not allowed" });
    socket().closeFromServer(1006);
    await advance(1_000);
    socket().acceptConnection();

    expect(onError).toHaveBeenCalledWith({ code: 4403, detail: "not allowed" });
    expect(socket().sentOfType("subscribe")).toEqual([{ type: "subscribe", stream: "requests.unit.1" }]);
  });

  it("4404: reports an unknown stream", async () => {
    const { client, socket } = await connected();
    const onError = vi.fn();
    client.subscribe("nonsense", { onError });

    socket().receive({ type: "error", stream: "nonsense", code: 4404, detail: "no such stream" });

    expect(onError).toHaveBeenCalledWith({ code: 4404, detail: "no such stream" });
  });
});
