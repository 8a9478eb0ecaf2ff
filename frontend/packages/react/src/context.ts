/** The client shared by every hook below one WebSocketProvider. */
import type { ConnectionStatus, SynclineClient } from "@syncline/client";
import { createContext } from "react";

export interface SynclineContextValue {
  /** The signed-in user's client; null when signed out. */
  client: SynclineClient | null;
  status: ConnectionStatus;
}

export const SynclineContext = createContext<SynclineContextValue>({ client: null, status: "closed" });
