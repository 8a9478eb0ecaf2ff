export { SynclineClient } from "./client.js";
export type { ClientEvents, ConnectionStatus, DisconnectInfo } from "./client.js";
export type * from "./events.generated.js";
export { CLOSE_REASONS, CloseCode } from "./events.generated.js";
export type { SynclineClientOptions, Timers, WebSocketConstructor, WebSocketLike } from "./options.js";
export type { StreamError, StreamHandlers } from "./registry.js";
export { streams } from "./streams.js";
export type { StreamEvent } from "./streams.js";
