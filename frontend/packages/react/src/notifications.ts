/** The signed-in user's notifications, live. */
import type { NotificationBroadcastEvent, NotificationCreatedEvent, NotificationStatusEvent } from "@syncline/client";
import { streams } from "@syncline/client";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { type Id, useStream } from "./hooks.js";

export interface LiveNotification {
  id: Id;
  title: string;
  body: string;
  level: string;
  read: boolean;
  /** Sent to everyone: it has no per-user record to mark read. */
  broadcast: boolean;
}

/** A notification as `GET /api/notifications/` lists it (the fields used here). */
export interface StoredNotification {
  id: Id;
  title: string;
  body: string;
  level: string;
  read_at: string | null;
}

/**
 * The user's notifications, newest first, and how many are unread: `initial` (the list from
 * `GET /api/notifications/`) with those that arrive while mounted (the user's own and broadcasts)
 * on top. Every notification event, including the delivery reports of notifications the user sent
 * (`notification.status`), also refreshes queries under `["notifications"]`, so an `initial` read
 * from such a query follows along.
 */
export function useNotifications(
  userId: Id | null | undefined,
  initial: readonly StoredNotification[] = NONE,
): {
  notifications: LiveNotification[];
  unreadCount: number;
  /** Shows a notification as read; the app records it with `POST /api/notifications/<id>/read/`. */
  markRead: (id: Id) => void;
} {
  const [live, setLive] = useState<LiveNotification[]>([]);
  // Marked read here; kept apart so that a refetched `initial` does not undo it before it has the read_at.
  const [readHere, setReadHere] = useState<ReadonlySet<Id>>(new Set());
  const queryClient = useQueryClient();
  const onEvent = (event: NotificationCreatedEvent | NotificationStatusEvent | NotificationBroadcastEvent) => {
    if (event.type !== "notification.status") {
      const item = toNotification(event);
      setLive((current) => [item, ...current.filter((existing) => existing.id !== item.id)]);
    }
    void queryClient.invalidateQueries({ queryKey: ["notifications"] });
  };
  // A gap the server cannot replay: what was missed is in `GET /api/notifications/`.
  const refetch = { onReset: () => void queryClient.invalidateQueries({ queryKey: ["notifications"] }) };
  const known = userId != null;
  useStream(known ? streams.userNotifications(userId) : null, onEvent, refetch);
  useStream(known ? streams.broadcastNotifications : null, onEvent, refetch);
  const markRead = (id: Id) => setReadHere((current) => new Set(current).add(id));
  const liveIds = new Set(live.map((item) => item.id));
  const notifications = [...live, ...initial.filter((item) => !liveIds.has(item.id)).map(fromApi)].map((item) =>
    readHere.has(item.id) ? { ...item, read: true } : item,
  );
  return { notifications, unreadCount: notifications.filter((item) => !item.read).length, markRead };
}

const NONE: readonly StoredNotification[] = [];

function fromApi(item: StoredNotification): LiveNotification {
  const { id, title, body, level, read_at } = item;
  return { id, title, body, level, read: read_at !== null, broadcast: false };
}

function toNotification(event: NotificationCreatedEvent | NotificationBroadcastEvent): LiveNotification {
  const { data } = event;
  return {
    id: event.notification_id,
    title: String(data.title ?? ""),
    body: String(data.body ?? ""),
    level: String(data.level ?? "info"),
    read: data.read_at !== undefined && data.read_at !== null,
    broadcast: event.type === "notification.broadcast",
  };
}
