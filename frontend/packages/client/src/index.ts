export { SynclineClient } from "./client.js";
export type { ClientEvents, ConnectionStatus, DisconnectInfo, PresenceSubscription, SendOptions } from "./client.js";
export { DEFAULT_SEND_TIMEOUT_MS, REPLY_ERROR_CODES } from "./constants.js";
export type { SendErrorCode } from "./constants.js";
export type * from "./events.generated.js";
export { CLOSE_REASONS, CloseCode } from "./events.generated.js";
export type { SynclineClientOptions, Timers, WebSocketConstructor, WebSocketLike } from "./options.js";
export type { PresenceHandlers, PresenceSync } from "./presence.js";
export type {
  EphemeralMessage,
  PresenceCount,
  PresenceJoinMessage,
  PresenceLeaveMessage,
  PresenceMember,
  PresenceStateMessage,
  ReplyMessage,
} from "./protocol.js";
export type { StreamError, StreamHandlers } from "./registry.js";
export { SendError } from "./replies.js";
export { streams } from "./streams.js";
export type { StreamEvent } from "./streams.js";
