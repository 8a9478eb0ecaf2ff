// @vitest-environment jsdom
import { act, cleanup, fireEvent, screen } from "@testing-library/react";
import { useState } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Send, usePresence, useSend, useTyping } from "../src/index.js";
import { event, renderWithSocket } from "./harness.js";

afterEach(cleanup);

const STREAM = "requests.item.7";

function Members({ stream }: { stream: string }) {
  const { members, synced } = usePresence(stream);
  return <p data-testid="members">{synced ? members.map((m) => m.username).join(",") : "…"}</p>;
}

describe("usePresence", () => {
  it("lists the members live and leaves the stream on unmount", async () => {
    const app = renderWithSocket(<Members stream={STREAM} />);
    await app.open();
    expect(screen.getByTestId("members").textContent).toBe("…");
    expect(app.socket().sentOfType("subscribe")).toEqual([{ type: "subscribe", stream: STREAM }]);

    app.serverSends({
      type: "presence.state",
      stream: STREAM,
      rev: 1,
      members: { "1": { user_id: 1, username: "alice", conns: 1 } },
    });
    expect(screen.getByTestId("members").textContent).toBe("alice");
    app.serverSends({ type: "presence.join", stream: STREAM, rev: 2, user_id: 2, username: "bob" });
    expect(screen.getByTestId("members").textContent).toBe("alice,bob");
    app.serverSends({ type: "presence.leave", stream: STREAM, rev: 3, user_id: 1 });
    expect(screen.getByTestId("members").textContent).toBe("bob");

    app.rerenderWith("access-1", null);
    expect(app.socket().sentOfType("unsubscribe")).toEqual([{ type: "unsubscribe", stream: STREAM }]);
  });

  it("asks for the state again on a rev gap", async () => {
    const app = renderWithSocket(<Members stream={STREAM} />);
    await app.open();
    app.serverSends({ type: "presence.state", stream: STREAM, rev: 1, members: {} });
    app.serverSends({ type: "presence.join", stream: STREAM, rev: 3, user_id: 2, username: "bob" });
    expect(app.socket().sentOfType("presence.get")).toEqual([{ type: "presence.get", stream: STREAM }]);
  });
});

describe("useSend", () => {
  it("sends through the provider's client and resolves with the reply", async () => {
    let send: Send | null = null;
    function Sender() {
      send = useSend();
      return null;
    }
    const app = renderWithSocket(<Sender />);
    await app.open();
    const reply = send!(STREAM, "comment.create", { body: "hi" });
    app.serverSends({ type: "reply", ref: "1", status: "ok", data: { id: 5 } });
    await expect(reply).resolves.toEqual({ id: 5 });
  });

  it("rejects with disconnected while signed out", async () => {
    let send: Send | null = null;
    function Sender() {
      send = useSend();
      return null;
    }
    renderWithSocket(<Sender />, null);
    await expect(send!(STREAM, "typing")).rejects.toMatchObject({ code: "disconnected" });
  });
});

describe("useTyping", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] }));
  afterEach(() => vi.useRealTimers());

  function Composer() {
    const { typists, notifyTyping } = useTyping(STREAM);
    const [text, setText] = useState("");
    return (
      <>
        <input
          aria-label="comment"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            notifyTyping();
          }}
        />
        <p data-testid="typing">{typists.map((t) => t.username).join(",")}</p>
      </>
    );
  }

  const typed = (app: ReturnType<typeof renderWithSocket>, value: string) => {
    fireEvent.change(screen.getByLabelText("comment"), { target: { value } });
    return app.socket().sentOfType("message").length;
  };

  it("sends typing at most once per 2 s while typing", async () => {
    const app = renderWithSocket(<Composer />);
    await app.open();
    expect(typed(app, "h")).toBe(1);
    expect(app.socket().sentOfType("message")).toEqual([
      { type: "message", ref: "1", stream: STREAM, event: "typing", data: {} },
    ]);
    act(() => void vi.advanceTimersByTime(1_000));
    expect(typed(app, "he")).toBe(1);
    act(() => void vi.advanceTimersByTime(999));
    expect(typed(app, "hel")).toBe(1);
    act(() => void vi.advanceTimersByTime(1));
    expect(typed(app, "hell")).toBe(2);
  });

  it("shows who is typing until 4 s after their last message", async () => {
    const app = renderWithSocket(<Composer />);
    await app.open();
    const typing = { type: "comment.typing", stream: STREAM, user_id: 2, username: "bob" };
    app.serverSends(typing);
    app.serverSends({ ...typing, user_id: 3, username: "sam" });
    expect(screen.getByTestId("typing").textContent).toBe("bob,sam");

    act(() => void vi.advanceTimersByTime(3_000));
    app.serverSends(typing);
    act(() => void vi.advanceTimersByTime(1_000));
    expect(screen.getByTestId("typing").textContent).toBe("bob");
    act(() => void vi.advanceTimersByTime(3_000));
    expect(screen.getByTestId("typing").textContent).toBe("");
  });

  it("stops showing someone typing once their comment arrives", async () => {
    const app = renderWithSocket(<Composer />);
    await app.open();
    app.serverSends({ type: "comment.typing", stream: STREAM, user_id: 2, username: "bob" });
    app.serverSends(event({ type: "comment.created", stream: STREAM, id: "1-0", updated_by: "bob", comment_id: 9 }));
    expect(screen.getByTestId("typing").textContent).toBe("");
  });
});
