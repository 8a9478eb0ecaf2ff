// Generated from the backend's event schemas by `python backend/manage.py export_event_types`. Do not edit.

/** Fields every event carries, on any route or transport. */
export interface EventEnvelope {
  type: string;
  action: string;
  id: string;
  stream: string;
  data: Record<string, unknown>;
  updated_by: string | null;
  updated_at: string;
}

/** A change to a request, crate or storage location was recorded. */
export interface AuditCreatedEvent extends EventEnvelope {
  type: "audit.created";
  audit_id: number | string;
}

/** A storage location was created or edited (action `created` or `updated`). */
export interface StorageUpdatedEvent extends EventEnvelope {
  type: "storage.updated";
  storage_id: number | string;
}

/** A crate was created, edited or relocated (action `created`, `updated`, `relocated`). */
export interface CrateUpdatedEvent extends EventEnvelope {
  type: "crate.updated";
  crate_id: number | string;
}

/** A request was created or changed. `action`: created, updated, approved, rejected, sent_back, storage_allocated, issued, returned. */
export interface RequestUpdatedEvent extends EventEnvelope {
  type: "request.updated";
  request_id: number | string;
  status: string;
}

/** A notification for the stream's user was delivered. */
export interface NotificationCreatedEvent extends EventEnvelope {
  type: "notification.created";
  notification_id: number | string;
}

/** The outcome of delivering a notification the stream's user sent through the API or `send_test_notification` (delivered by a background task). `action` and `status`: `sent`, or `failed` (the recipient is inactive, or delivery raised). */
export interface NotificationStatusEvent extends EventEnvelope {
  type: "notification.status";
  notification_id: number | string;
  status: string;
}

/** A notification to every signed-in user (stream `notifications.all`). It is not stored per user: `notification_id` is a UUID string, unlike personal notifications' integer ids. */
export interface NotificationBroadcastEvent extends EventEnvelope {
  type: "notification.broadcast";
  notification_id: number | string;
}

/** One of the mentor's students submitted work to grade (stream `academy.mentor.<id>`). */
export interface SubmissionCreatedEvent extends EventEnvelope {
  type: "submission.created";
  submission_id: number | string;
  status: string;
}

/** The student's mentor graded a submission; `score` is 0-100 (stream `academy.student.<id>`). */
export interface SubmissionGradedEvent extends EventEnvelope {
  type: "submission.graded";
  submission_id: number | string;
  status: string;
  score: number;
}

/** A grade changed the students' ranking; `data` is the whole leaderboard, as `GET /api/academy/leaderboard/` returns it. `score` is a student's average over graded submissions; students without one come last with `score` and `rank` null; equal scores share a rank. */
export interface LeaderboardUpdatedEvent extends EventEnvelope {
  type: "leaderboard.updated";
  leaderboard_id: number | string;
}

/** The live KPIs changed; `data` is the whole dashboard, as `GET /api/dashboard/` returns it. Published at most about once a second, always including the latest change. `invoices` and `jobs_running` are null where the sales or progress app is not installed. */
export interface DashboardUpdatedEvent extends EventEnvelope {
  type: "dashboard.updated";
  dashboard_id: number | string;
}

/** A background job moved. `action`: start, progress (at most ~10 a second per job), warning (an item failed; the job goes on), complete, error (the job stopped). `current`/`total` are items, `percent` 0-100 never goes backwards; `status` is pending, started, completed or failed. A subscriber first gets the job's latest event. */
export interface ProgressUpdatedEvent extends EventEnvelope {
  type: "progress.updated";
  job_id: number | string;
  current: number;
  total: number;
  percent: number;
  status: string;
  message: string;
}

/** An invoice was imported or moved one step through the warehouse workflow. `action` is the step: imported, picking_started, picking_completed, packing_started, packing_completed, delivery_started, delivery_completed; `stage` is the invoice's stage after it. */
export interface InvoiceUpdatedEvent extends EventEnvelope {
  type: "invoice.updated";
  invoice_id: number | string;
  stage: string;
}

/** The real-time layer's figures changed; `data` is the whole snapshot, as `GET /api/ops/` returns it. One process publishes it (under a Redis lock) every couple of seconds while the figures change. */
export interface OpsUpdatedEvent extends EventEnvelope {
  type: "ops.updated";
  ops_id: number | string;
}

/** Every event a stream can carry. */
export type SynclineEvent =
  | AuditCreatedEvent
  | StorageUpdatedEvent
  | CrateUpdatedEvent
  | RequestUpdatedEvent
  | NotificationCreatedEvent
  | NotificationStatusEvent
  | NotificationBroadcastEvent
  | SubmissionCreatedEvent
  | SubmissionGradedEvent
  | LeaderboardUpdatedEvent
  | DashboardUpdatedEvent
  | ProgressUpdatedEvent
  | InvoiceUpdatedEvent
  | OpsUpdatedEvent;

export type SynclineEventType = SynclineEvent["type"];

/** The server accepted a subscription on the multiplexed socket. */
export interface SubscribedMessage {
  type: "subscribed";
  stream: string;
}

/** The server refused a subscription (4403, 4404) or a frame. */
export interface ErrorMessage {
  type: "error";
  stream?: string;
  code: number;
  detail?: string;
}

/** A resume replayed the events after `last_event_id`. */
export interface StreamResumedMessage {
  type: "stream.resumed";
  stream: string;
  replayed: number;
}

/** The history no longer reaches `last_event_id`: refetch over REST. */
export interface StreamResetMessage {
  type: "stream.reset";
  stream: string;
}

/** The answer to `{"type": "ping"}`. */
export interface PongMessage {
  type: "pong";
  status?: "ok" | "degraded";
  checks?: Record<string, unknown>;
}

/** Every message of the protocol itself, as opposed to stream events. */
export type ControlMessage =
  | SubscribedMessage
  | ErrorMessage
  | StreamResumedMessage
  | StreamResetMessage
  | PongMessage;

/** Everything the server sends on a socket. */
export type ServerMessage = SynclineEvent | ControlMessage;
