/** Turns an access token into the URL the socket connects to (docs/api.md and docs/protocol.md section 3). */
import type { ResolvedOptions } from "./options.js";

/** The API refused the access token: refresh it before trying again. */
export class UnauthorizedError extends Error {
  constructor(message = "the access token was refused") {
    super(message);
    this.name = "UnauthorizedError";
  }
}

/** The socket URL, authenticated with a one-use ticket or with the token itself. */
export async function authenticatedUrl(options: ResolvedOptions, accessToken: string): Promise<string> {
  const url = new URL(options.url);
  if (options.auth === "ticket") url.searchParams.set("ticket", await fetchTicket(options, accessToken));
  else url.searchParams.set("token", accessToken);
  return url.toString();
}

async function fetchTicket(options: ResolvedOptions, accessToken: string): Promise<string> {
  const response = await options.fetch(`${options.apiBase}/api/auth/ws-ticket/`, {
    method: "POST",
    headers: { Authorization: `Bearer ${accessToken}` },
  });
  if (response.status === 401) throw new UnauthorizedError();
  if (!response.ok) throw new Error(`POST /api/auth/ws-ticket/ answered HTTP ${response.status}`);
  const body: unknown = await response.json();
  if (typeof body !== "object" || body === null || !("ticket" in body) || typeof body.ticket !== "string") {
    throw new Error("POST /api/auth/ws-ticket/ answered without a ticket");
  }
  return body.ticket;
}
