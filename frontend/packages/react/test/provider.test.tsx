// @vitest-environment jsdom
import { act, cleanup, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { useWebSocket } from "../src/index.js";
import { renderWithSocket } from "./harness.js";

afterEach(cleanup);

function Status() {
  return <output data-testid="status">{useWebSocket().status}</output>;
}

describe("WebSocketProvider", () => {
  it("opens no socket while signed out", async () => {
    const { sockets } = renderWithSocket(<Status />, null);
    await act(async () => {});

    expect(sockets).toHaveLength(0);
    expect(screen.getByTestId("status").textContent).toBe("closed");
  });

  it("opens the socket at sign-in with the access token", async () => {
    const app = renderWithSocket(<Status />);
    await app.open();

    expect(app.socket().url).toBe("ws://app.test/ws/?token=access-1");
    expect(screen.getByTestId("status").textContent).toBe("open");
  });

  it("closes the socket with 1000 at sign-out", async () => {
    const app = renderWithSocket(<Status />);
    await app.open();

    app.rerenderWith(null);
    await act(async () => {});

    expect(app.socket().closedWith?.code).toBe(1000);
    expect(screen.getByTestId("status").textContent).toBe("closed");
  });

  it("keeps the socket when the token is refreshed", async () => {
    const app = renderWithSocket(<Status />);
    await app.open();

    app.rerenderWith("access-2");
    await act(async () => {});

    expect(app.sockets).toHaveLength(1);
    expect(app.socket().closedWith).toBeNull();
  });
});
