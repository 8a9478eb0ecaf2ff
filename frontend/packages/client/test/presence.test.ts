import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PresenceMember } from "../src/protocol.js";
import { advance, setup } from "./fakes.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const STREAM = "requests.unit.1";
const alice = { user_id: 1, username: "alice", conns: 1 };
const bob = { user_id: 2, username: "bob", conns: 2 };
const sam = { user_id: 3, username: "sam", conns: 1 };

function state(rev: number, ...members: PresenceMember[]) {
  return { type: "presence.state", stream: STREAM, rev, members: Object.fromEntries(members.map((m) => [m.user_id, m])) };
}
const join = (rev: number, member: PresenceMember) => ({
  type: "presence.join",
  stream: STREAM,
  rev,
  user_id: member.user_id,
  username: member.username,
});
const leave = (rev: number, member: PresenceMember) => ({ type: "presence.leave", stream: STREAM, rev, user_id: member.user_id });
const names = (members: PresenceMember[]) => members.map((member) => member.username);

/** A client with an open socket following the presence of STREAM, and what its handlers saw. */
async function following() {
  const harness = setup();
  harness.client.connect();
  await advance();
  harness.socket().acceptConnection();
  const seen: string[] = [];
  const presence = harness.client.presence(STREAM, {
    onSync: ({ members }) => seen.push(`sync ${names(members).join(",")}`),
    onJoin: (member) => seen.push(`join ${member.username}`),
    onLeave: (member) => seen.push(`leave ${member.username}`),
  });
  const presenceGets = () => harness.socket().sentOfType("presence.get");
  return { ...harness, presence, seen, presenceGets };
}

describe("presence", () => {
  it("subscribes to the stream and applies its state", async () => {
    const { socket, presence, seen } = await following();
    expect(socket().sentOfType("subscribe")).toEqual([{ type: "subscribe", stream: STREAM }]);
    expect(presence.synced).toBe(false);

    socket().receive({ type: "subscribed", stream: STREAM });
    socket().receive(state(4, bob, alice));

    expect(seen).toEqual(["sync alice,bob"]);
    expect(presence.members()).toEqual([alice, bob]);
    expect(presence.synced).toBe(true);
  });

  it("applies a join and a leave whose rev follows the current one", async () => {
    const { socket, presence, seen, presenceGets } = await following();
    socket().receive(state(4, alice));
    socket().receive(join(5, bob));
    socket().receive(join(6, sam));
    socket().receive(leave(7, alice));

    expect(seen).toEqual(["sync alice", "join bob", "join sam", "leave alice"]);
    expect(names(presence.members())).toEqual(["bob", "sam"]);
    expect(presenceGets()).toEqual([]);
  });

  it.each([
    ["skips ahead", 7],
    ["repeats the current one", 5],
    ["goes back", 2],
  ])("asks for a fresh state when a diff's rev %s", async (_, rev) => {
    const { socket, presence, seen, presenceGets } = await following();
    socket().receive(state(5, alice));
    socket().receive(join(rev, bob));

    expect(presenceGets()).toEqual([{ type: "presence.get", stream: STREAM }]);
    expect(seen).toEqual(["sync alice"]);
    expect(presence.synced).toBe(false);

    socket().receive(state(8, alice, sam));
    expect(seen).toEqual(["sync alice", "sync alice,sam"]);
    expect(names(presence.members())).toEqual(["alice", "sam"]);
  });

  it("buffers diffs that come before the first state and applies those newer than it", async () => {
    const { socket, presence, seen, presenceGets } = await following();
    socket().receive(join(4, alice)); // already in the state below
    socket().receive(leave(6, sam));
    socket().receive(join(5, sam));

    expect(seen).toEqual([]);
    socket().receive(state(4, alice, bob));

    expect(seen).toEqual(["sync alice,bob", "join sam", "leave sam"]);
    expect(names(presence.members())).toEqual(["alice", "bob"]);
    expect(presenceGets()).toEqual([]);
  });

  it("asks again when the buffered diffs have a gap after the state", async () => {
    const { socket, seen, presenceGets } = await following();
    socket().receive(join(5, sam));
    socket().receive(leave(7, bob));
    socket().receive(state(4, alice, bob));

    expect(seen).toEqual(["sync alice,bob", "join sam"]);
    expect(presenceGets()).toHaveLength(1);
    socket().receive(state(7, alice, sam));
    expect(seen.at(-1)).toBe("sync alice,sam");
  });

  it("ignores a leave of someone it does not know, and a second join of a member", async () => {
    const { socket, presence, seen } = await following();
    socket().receive(state(1, alice));
    socket().receive(join(2, alice));
    socket().receive(leave(3, sam));

    expect(seen).toEqual(["sync alice"]);
    expect(presence.members()).toEqual([alice]);
  });

  it("replaces everything with the state of the new connection after a reconnect", async () => {
    const { socket, presence, seen, presenceGets } = await following();
    socket().receive(state(4, alice, bob));
    socket().closeFromServer(1006);
    // Until the new state comes, the last known members stay shown.
    expect(names(presence.members())).toEqual(["alice", "bob"]);
    expect(presence.synced).toBe(false);

    await advance(1_000);
    socket().acceptConnection();
    expect(socket().sentOfType("subscribe")).toEqual([{ type: "subscribe", stream: STREAM }]);
    socket().receive({ type: "subscribed", stream: STREAM });
    // The server's count may have started again (its Redis restarted): rev 1 is no gap here.
    socket().receive(state(1, sam));
    socket().receive(join(2, bob));

    expect(seen).toEqual(["sync alice,bob", "sync sam", "join bob"]);
    expect(names(presence.members())).toEqual(["bob", "sam"]);
    expect(presenceGets()).toEqual([]);
  });

  it("ignores presence of other streams", async () => {
    const { socket, seen } = await following();
    socket().receive({ ...state(1, alice), stream: "requests.unit.2" });
    expect(seen).toEqual([]);
  });

  it("shares one subscription, tells a late listener the known set, and ends with the last listener", async () => {
    const { client, socket, presence } = await following();
    socket().receive(state(3, alice));
    const late = vi.fn();
    const second = client.presence(STREAM, { onSync: late });

    expect(late).toHaveBeenCalledWith({ members: [alice], truncated: false });
    expect(socket().sentOfType("subscribe")).toHaveLength(1);
    presence.stop();
    expect(socket().sentOfType("unsubscribe")).toEqual([]);
    second.stop();
    expect(socket().sentOfType("unsubscribe")).toEqual([{ type: "unsubscribe", stream: STREAM }]);
    socket().receive(join(4, bob));
    expect(late).toHaveBeenCalledTimes(1);
  });

  it("reports a truncated member set", async () => {
    const harness = await following();
    const onSync = vi.fn();
    harness.client.presence(STREAM, { onSync });
    const count = { members: 600, conns: 640 };
    harness.socket().receive({ ...state(9), truncated: true, count });
    expect(onSync).toHaveBeenCalledWith({ members: [], truncated: true, count });
  });
});

describe("ephemeral messages", () => {
  it("reach onEphemeral, never onEvent", async () => {
    const { client, socket } = setup();
    client.connect();
    await advance();
    socket().acceptConnection();
    const onEvent = vi.fn();
    const onEphemeral = vi.fn();
    client.subscribe("requests.item.7", { onEvent, onEphemeral });
    const typing = { type: "comment.typing", stream: "requests.item.7", user_id: 2, username: "bob" };
    socket().receive(typing);
    socket().receive({ type: "unsubscribed", stream: "requests.item.7" });

    expect(onEphemeral.mock.calls).toEqual([[typing]]);
    expect(onEvent).not.toHaveBeenCalled();
  });
});
