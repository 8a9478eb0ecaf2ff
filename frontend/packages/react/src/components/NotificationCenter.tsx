import { type StoredNotification, useNotifications } from "../notifications.js";

export interface NotificationCenterProps {
  /** The signed-in user's id; nothing is shown while it is null. */
  userId: number | string | null | undefined;
  /** Records that a personal notification was read (`POST /api/notifications/<id>/read/`). */
  onMarkRead?: (id: number | string) => void;
  /** The notifications stored so far, from `GET /api/notifications/`; new ones are added live. */
  initial?: readonly StoredNotification[];
}

/** The user's notifications (`initial`, then live), newest first, with the unread count. */
export function NotificationCenter({ userId, onMarkRead, initial }: NotificationCenterProps) {
  const { notifications, unreadCount, markRead } = useNotifications(userId, initial);
  return (
    <section className="syncline-notifications" aria-label="Notifications">
      <h2>
        Notifications <span data-testid="notifications-unread">{unreadCount}</span>
      </h2>
      {notifications.length === 0 ? (
        <p>No notifications.</p>
      ) : (
        <ul>
          {notifications.map((item) => (
            <li key={item.id} data-testid={`notification-${item.id}`} data-level={item.level} data-read={item.read}>
              <strong>{item.title}</strong> {item.body}
              {!item.read && (
                <button
                  type="button"
                  onClick={() => {
                    markRead(item.id);
                    // A broadcast has no per-user record on the server to update.
                    if (!item.broadcast) onMarkRead?.(item.id);
                  }}
                >
                  Mark read
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
