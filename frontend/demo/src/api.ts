/** The endpoints of the HTTP API the demo uses (same origin; see docs/api.md). */
import type { StoredNotification } from "@syncline/react";
import { type Tokens, session } from "./session";

export interface Unit {
  id: number;
  name: string;
  role: string;
}

export interface Me {
  id: number;
  username: string;
  is_staff: boolean;
  role: string;
  units: Unit[];
}

export type RequestStatus = "pending" | "approved" | "rejected" | "sent_back" | "issued" | "returned";

export interface RequestRow {
  id: number;
  unit: number;
  title: string;
  request_type: "storage" | "withdrawal" | "destruction";
  status: RequestStatus;
  requester: string;
  crate: number | null;
  storage: number | null;
  reason: string;
  comment: string;
  updated_at: string;
}

export interface Crate {
  id: number;
  code: string;
  description: string;
  storage: number | null;
}

export interface StorageLocation {
  id: number;
  name: string;
  location: string;
}

export interface AuditEntry {
  id: number;
  actor: string | null;
  action: string;
  object_type: string;
  object_id: number;
  changes: Record<string, unknown>;
  created_at: string;
}

export interface Comment {
  id: number;
  request: number;
  author: string;
  body: string;
  created_at: string;
}

export type Notification = StoredNotification & { created_at: string };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(detail);
    this.name = "ApiError";
  }
}

export async function signIn(username: string, password: string): Promise<void> {
  session.set(await send<Tokens>("/api/auth/token/", { method: "POST", body: { username, password } }));
}

/**
 * Trades the refresh token for a new access token and stores it. Null when the refresh token is
 * refused too: the session is over and the user is signed out.
 */
export async function refreshAccessToken(): Promise<string | null> {
  const current = session.tokens();
  if (current === null) return null;
  try {
    const renewed = await send<{ access: string; refresh?: string }>("/api/auth/token/refresh/", {
      method: "POST",
      body: { refresh: current.refresh },
    });
    // With refresh-token rotation on, the server sends a new refresh token as well.
    session.set({ access: renewed.access, refresh: renewed.refresh ?? current.refresh });
    return renewed.access;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    session.set(null);
    return null;
  }
}

const post = <T>(path: string, body?: unknown) => authorized<T>(path, { method: "POST", body });

export const api = {
  me: () => authorized<Me>("/api/auth/me/"),
  requests: (unitId: number) => authorized<RequestRow[]>(`/api/requests/?unit=${unitId}`),
  approve: (id: number) => post<RequestRow>(`/api/requests/${id}/approve/`),
  reject: (id: number, reason: string) => post<RequestRow>(`/api/requests/${id}/reject/`, { reason }),
  sendBack: (id: number, comment: string) => post<RequestRow>(`/api/requests/${id}/send-back/`, { comment }),
  allocateStorage: (id: number, storage: number) =>
    post<RequestRow>(`/api/requests/${id}/allocate-storage/`, { storage }),
  issue: (id: number) => post<RequestRow>(`/api/requests/${id}/issue/`),
  return: (id: number) => post<RequestRow>(`/api/requests/${id}/return/`),
  edit: (request: RequestRow, title: string) =>
    authorized<RequestRow>(`/api/requests/${request.request_type}/update/`, {
      method: "PATCH",
      body: { id: request.id, title },
    }),
  comments: (requestId: number) => authorized<Comment[]>(`/api/requests/${requestId}/comments/`),
  crates: (unitId: number) => authorized<Crate[]>(`/api/documents/crates/?unit=${unitId}`),
  storage: (unitId: number) => authorized<StorageLocation[]>(`/api/storage/?unit=${unitId}`),
  audit: (unitId: number) => authorized<AuditEntry[]>(`/api/audit/?unit=${unitId}`),
  dashboard: () => authorized<Record<string, unknown>>("/api/dashboard/"),
  notifications: () => authorized<Notification[]>("/api/notifications/"),
  markNotificationRead: (id: number | string) => post<unknown>(`/api/notifications/${id}/read/`),
};

interface SendOptions {
  method?: "GET" | "POST" | "PATCH";
  body?: unknown;
  token?: string;
}

/** A call with the access token; an expired token is refreshed once and the call retried. */
async function authorized<T>(path: string, options: SendOptions = {}): Promise<T> {
  try {
    return await send<T>(path, { ...options, token: session.tokens()?.access });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    const token = await refreshAccessToken();
    if (token === null) throw error;
    return send<T>(path, { ...options, token });
  }
}

async function send<T>(path: string, { method = "GET", body, token }: SendOptions): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const payload: unknown = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, errorDetail(payload, response.status));
  return payload as T;
}

/** One line from the API's error shapes: `{"detail": "..."}` or `{"field": ["why", ...]}`. */
export function errorDetail(payload: unknown, status: number): string {
  if (typeof payload !== "object" || payload === null) return `HTTP ${status}`;
  if ("detail" in payload) return String(payload.detail);
  const problems = Object.entries(payload).map(([field, why]) => `${field}: ${[why].flat().join(" ")}`);
  return problems.length > 0 ? problems.join("; ") : `HTTP ${status}`;
}
