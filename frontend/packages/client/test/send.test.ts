import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { REPLY_ERROR_CODES } from "../src/constants.js";
import { SendError } from "../src/replies.js";
import { advance, setup } from "./fakes.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function connected() {
  const harness = setup();
  harness.client.connect();
  await advance();
  harness.socket().acceptConnection();
  return harness;
}

/** The error a promise rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<SendError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(SendError);
  return error as SendError;
}

describe("send", () => {
  it("sends a message frame with a fresh ref and resolves with the reply's data", async () => {
    const { client, socket } = await connected();
    const first = client.send("requests.item.7", "comment.create", { body: "Looks fine" });
    const second = client.send("requests.item.7", "typing");

    expect(socket().sentOfType("message")).toEqual([
      { type: "message", ref: "1", stream: "requests.item.7", event: "comment.create", data: { body: "Looks fine" } },
      { type: "message", ref: "2", stream: "requests.item.7", event: "typing", data: {} },
    ]);
    // Replies may come in any order: each settles the message of its own ref.
    socket().receive({ type: "reply", ref: "2", status: "ok", data: {} });
    socket().receive({ type: "reply", ref: "1", status: "ok", data: { id: 3, body: "Looks fine" } });
    await expect(first).resolves.toEqual({ id: 3, body: "Looks fine" });
    await expect(second).resolves.toEqual({});
  });

  it.each(REPLY_ERROR_CODES)("rejects with the reply's error code %s", async (code) => {
    const { client, socket } = await connected();
    const sent = client.send("requests.item.7", "comment.create", { body: "" });
    socket().receive({ type: "reply", ref: "1", status: "error", error: { code, detail: `it was ${code}` } });

    const error = await rejection(sent);
    expect([error.code, error.message, error.fields]).toEqual([code, `it was ${code}`, undefined]);
  });

  it("passes the fields of an invalid reply on", async () => {
    const { client, socket } = await connected();
    const sent = client.send("requests.item.7", "comment.create", { body: "" });
    const fields = { body: ["This field may not be blank."] };
    socket().receive({ type: "reply", ref: "1", status: "error", error: { code: "invalid", detail: "bad", fields } });

    expect((await rejection(sent)).fields).toEqual(fields);
  });

  it("rejects with timeout when no reply comes in time, and ignores the late reply", async () => {
    const { client, socket } = await connected();
    const sent = client.send("requests.item.7", "typing", {}, { timeout: 2_000 });
    const outcome = rejection(sent);
    await advance(1_999);
    socket().receive({ type: "reply", ref: "2", status: "ok", data: {} }); // another message's
    await advance(1);

    expect((await outcome).code).toBe("timeout");
    socket().receive({ type: "reply", ref: "1", status: "ok", data: {} });
  });

  it("waits 10 s by default", async () => {
    const { client } = await connected();
    const outcome = rejection(client.send("requests.item.7", "typing"));
    await advance(9_999);
    let settled = false;
    void outcome.then(() => (settled = true));
    await advance(0);
    expect(settled).toBe(false);
    await advance(1);
    expect((await outcome).code).toBe("timeout");
  });

  it("rejects every pending message when the socket closes, and numbers refs afresh on the next", async () => {
    const { client, socket, sockets } = await connected();
    const first = rejection(client.send("requests.item.7", "comment.create", { body: "a" }));
    const second = rejection(client.send("requests.item.7", "typing"));
    socket().closeFromServer(1006);

    expect((await first).code).toBe("disconnected");
    expect((await second).code).toBe("disconnected");
    await advance(1_000);
    socket().acceptConnection();
    expect(sockets).toHaveLength(2);
    void client.send("requests.item.7", "typing");
    expect(socket().sentOfType("message")).toMatchObject([{ ref: "1" }]);
  });

  it("rejects pending messages on close() too", async () => {
    const { client } = await connected();
    const sent = rejection(client.send("requests.item.7", "typing"));
    client.close();
    expect((await sent).code).toBe("disconnected");
  });

  it("rejects at once while the socket is not open", async () => {
    const { client, socket } = setup();
    expect((await rejection(client.send("requests.item.7", "typing"))).code).toBe("disconnected");
    client.connect();
    await advance();
    expect((await rejection(client.send("requests.item.7", "typing"))).code).toBe("disconnected");
    expect(socket().sent).toEqual([]);
  });
});
