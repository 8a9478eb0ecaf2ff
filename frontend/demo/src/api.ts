/** The few endpoints of the HTTP API the demo uses (same origin; see docs/api.md). */
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

export interface RequestRow {
  id: number;
  title: string;
  request_type: string;
  status: string;
  requester: string;
}

export interface Crate {
  id: number;
  code: string;
  description: string;
  storage: number | null;
}

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

export const api = {
  me: () => authorized<Me>("/api/auth/me/"),
  requests: (unitId: number) => authorized<RequestRow[]>(`/api/requests/?unit=${unitId}`),
  approve: (requestId: number) => authorized<RequestRow>(`/api/requests/${requestId}/approve/`, { method: "POST" }),
  crates: (unitId: number) => authorized<Crate[]>(`/api/documents/crates/?unit=${unitId}`),
  dashboard: () => authorized<Record<string, unknown>>("/api/dashboard/"),
  markNotificationRead: (id: number | string) =>
    authorized<unknown>(`/api/notifications/${id}/read/`, { method: "POST" }),
};

interface SendOptions {
  method?: "GET" | "POST";
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

function errorDetail(payload: unknown, status: number): string {
  if (typeof payload === "object" && payload !== null && "detail" in payload) return String(payload.detail);
  return `HTTP ${status}`;
}
