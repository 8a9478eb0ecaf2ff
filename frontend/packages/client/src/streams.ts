/**
 * Stream names, built in this one module so they match the backend's (docs/protocol.md section 1),
 * and the event type each stream carries.
 */
import type {
  AuditCreatedEvent,
  CrateUpdatedEvent,
  DashboardUpdatedEvent,
  InvoiceUpdatedEvent,
  LeaderboardUpdatedEvent,
  NotificationBroadcastEvent,
  NotificationCreatedEvent,
  NotificationStatusEvent,
  ProgressUpdatedEvent,
  RequestUpdatedEvent,
  StorageUpdatedEvent,
  SubmissionCreatedEvent,
  SubmissionGradedEvent,
  SynclineEvent,
} from "./events.generated.js";

type Id = number | string;

export const streams = {
  unitRequests: (unitId: Id) => `requests.unit.${unitId}` as const,
  request: (requestId: Id) => `requests.item.${requestId}` as const,
  unitCrates: (unitId: Id) => `crates.unit.${unitId}` as const,
  unitStorage: (unitId: Id) => `storage.unit.${unitId}` as const,
  unitAudit: (unitId: Id) => `audit.unit.${unitId}` as const,
  userNotifications: (userId: Id) => `notifications.user.${userId}` as const,
  broadcastNotifications: "notifications.all",
  job: (jobId: Id) => `progress.job.${jobId}` as const,
  invoices: "invoices",
  dashboard: "dashboard",
  leaderboard: "leaderboard",
  mentorSubmissions: (mentorId: Id) => `academy.mentor.${mentorId}` as const,
  studentSubmissions: (studentId: Id) => `academy.student.${studentId}` as const,
} as const;

/** The events a stream of name `S` carries; every event type when the name is not known statically. */
export type StreamEvent<S extends string> = S extends `requests.${"unit" | "item"}.${string}`
  ? RequestUpdatedEvent
  : S extends `crates.unit.${string}`
    ? CrateUpdatedEvent
    : S extends `storage.unit.${string}`
      ? StorageUpdatedEvent
      : S extends `audit.unit.${string}`
        ? AuditCreatedEvent
        : S extends `notifications.user.${string}`
          ? NotificationCreatedEvent | NotificationStatusEvent
          : S extends "notifications.all"
            ? NotificationBroadcastEvent
            : S extends `progress.job.${string}`
              ? ProgressUpdatedEvent
              : S extends "invoices"
                ? InvoiceUpdatedEvent
                : S extends "dashboard"
                  ? DashboardUpdatedEvent
                  : S extends "leaderboard"
                    ? LeaderboardUpdatedEvent
                    : S extends `academy.mentor.${string}`
                      ? SubmissionCreatedEvent
                      : S extends `academy.student.${string}`
                        ? SubmissionGradedEvent
                        : SynclineEvent;
