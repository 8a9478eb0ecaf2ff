/** Owns the app's one Syncline socket: opened at sign-in, closed (1000) at sign-out. */
import { type ConnectionStatus, SynclineClient, type SynclineClientOptions } from "@syncline/client";
import { type ReactNode, useEffect, useRef, useState } from "react";
import { SynclineContext } from "./context.js";

export interface WebSocketProviderProps {
  /** The signed-in user's access JWT; null or undefined when signed out. */
  accessToken: string | null | undefined;
  /** Gets and stores a new access JWT; resolves null when the session is over. */
  refreshAccessToken?: () => Promise<string | null>;
  /** Called when the socket gave up because no valid token could be had: sign the user out. */
  onUnauthorized?: () => void;
  /** Further client settings (url, auth mode, timings). Read when the user signs in. */
  options?: Omit<SynclineClientOptions, "getAccessToken" | "refreshAccessToken">;
  children?: ReactNode;
}

export function WebSocketProvider({
  accessToken,
  refreshAccessToken,
  onUnauthorized,
  options,
  children,
}: WebSocketProviderProps) {
  const [client, setClient] = useState<SynclineClient | null>(null);
  const [status, setStatus] = useState<ConnectionStatus>("closed");
  // The client outlives renders; it reads the latest props through this ref, so a refreshed token
  // is used at the next reconnect without tearing the socket down.
  const latest = useRef({ accessToken, refreshAccessToken, onUnauthorized, options });
  useEffect(() => {
    latest.current = { accessToken, refreshAccessToken, onUnauthorized, options };
  });

  const signedIn = Boolean(accessToken);
  useEffect(() => {
    if (!signedIn) return;
    const created = new SynclineClient({
      ...latest.current.options,
      getAccessToken: () => latest.current.accessToken ?? null,
      refreshAccessToken: async () => (await latest.current.refreshAccessToken?.()) ?? null,
    });
    const stopStatus = created.on("status", setStatus);
    const stopUnauthorized = created.on("unauthorized", () => latest.current.onUnauthorized?.());
    setClient(created);
    created.connect();
    return () => {
      created.close();
      stopStatus();
      stopUnauthorized();
      setClient(null);
    };
  }, [signedIn]);

  return <SynclineContext.Provider value={{ client, status }}>{children}</SynclineContext.Provider>;
}
