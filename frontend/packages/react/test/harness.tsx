/** Renders components under a QueryClientProvider and a WebSocketProvider wired to a fake socket. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render } from "@testing-library/react";
import type { ReactNode } from "react";
import { FakeWebSocket } from "../../client/test/fakes.js";
import { WebSocketProvider } from "../src/index.js";

export function renderWithSocket(ui: ReactNode, accessToken: string | null = "access-1") {
  const sockets: FakeWebSocket[] = [];
  class RecordedWebSocket extends FakeWebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  const queryClient = new QueryClient();
  const options = { url: "ws://app.test/ws/", auth: "token" as const, WebSocket: RecordedWebSocket };
  const tree = (token: string | null, children: ReactNode) => (
    <QueryClientProvider client={queryClient}>
      <WebSocketProvider accessToken={token} options={options}>
        {children}
      </WebSocketProvider>
    </QueryClientProvider>
  );
  const view = render(tree(accessToken, ui));
  const socket = (): FakeWebSocket => {
    const last = sockets.at(-1);
    if (last === undefined) throw new Error("no socket was opened");
    return last;
  };
  return {
    ...view,
    sockets,
    socket,
    queryClient,
    rerenderWith: (token: string | null, children: ReactNode = ui) => view.rerender(tree(token, children)),
    /** Lets the client obtain its token, then plays the server accepting the socket. */
    async open() {
      await act(async () => {});
      act(() => socket().acceptConnection());
    },
    /** Plays the server sending `message`. */
    serverSends(message: object) {
      act(() => socket().receive(message));
    },
  };
}

/** A stream event with the envelope fields filled in. */
export function event(fields: { type: string; stream: string; id: string } & Record<string, unknown>) {
  return { action: "updated", data: {}, updated_by: "alice", updated_at: "2026-11-21T12:34:56.789Z", ...fields };
}
