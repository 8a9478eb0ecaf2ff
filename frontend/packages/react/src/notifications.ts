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

/**
 * The notifications that arrive while mounted (the user's own and broadcasts), newest first, and
 * how many are unread. Every notification event, including the delivery reports of notifications
 * the user sent (`notification.status`), also refreshes queries under `["notifications"]`, for a
 * history listed from `GET /api/notifications/`.
 */
export function useNotifications(userId: Id | null | undefined): {
  notifications: LiveNotification[];
  unreadCount: number;
  /** Shows a notification as read; the app records it with `POST /api/notifications/<id>/read/`. */
  markRead: (id: Id) => void;
} {
  const [notifications, setNotifications] = useState<LiveNotification[]>([]);
  const queryClient = useQueryClient();
  const onEvent = (event: NotificationCreatedEvent | NotificationStatusEvent | NotificationBroadcastEvent) => {
    if (event.type !== "notification.status") {
      const item = toNotification(event);
      setNotifications((current) => [item, ...current.filter((existing) => existing.id !== item.id)]);
    }
    void queryClient.invalidateQueries({ queryKey: ["notifications"] });
  };
  // A gap the server cannot replay: what was missed is in `GET /api/notifications/`.
  const refetch = { onReset: () => void queryClient.invalidateQueries({ queryKey: ["notifications"] }) };
  const known = userId != null;
  useStream(known ? streams.userNotifications(userId) : null, onEvent, refetch);
  useStream(known ? streams.broadcastNotifications : null, onEvent, refetch);
  const markRead = (id: Id) =>
    setNotifications((current) => current.map((item) => (item.id === id ? { ...item, read: true } : item)));
  return { notifications, unreadCount: notifications.filter((item) => !item.read).length, markRead };
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
