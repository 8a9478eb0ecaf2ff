/**
 * Which actions a user may take on a request, by the request's status and the user's role in its
 * unit: the rules of the request workflow (backend/apps/requests/services.py), so that nobody is
 * offered a button the server would refuse.
 */
import type { RequestRow } from "./api";

export type RequestAction = "approve" | "reject" | "send_back" | "allocate_storage" | "issue" | "return" | "edit";

export interface Actor {
  username: string;
  is_staff: boolean;
  /** The user's role in the request's unit: requester, approver, store_head or admin. */
  unitRole: string | null;
}

const DECIDERS = new Set(["approver", "admin"]);
const KEEPERS = new Set(["store_head", "admin"]);

export function allowedActions(request: RequestRow, actor: Actor): RequestAction[] {
  const has = (roles: Set<string>) => actor.is_staff || (actor.unitRole !== null && roles.has(actor.unitRole));
  const actions: RequestAction[] = [];
  switch (request.status) {
    case "pending":
      if (has(DECIDERS)) actions.push("approve", "reject", "send_back");
      break;
    case "approved":
      if (has(KEEPERS)) actions.push("allocate_storage", "issue");
      break;
    case "issued":
      if (has(KEEPERS)) actions.push("return");
      break;
  }
  const editable = request.status === "pending" || request.status === "sent_back";
  const ownRequest = actor.unitRole !== null && request.requester === actor.username;
  if (editable && (ownRequest || actor.is_staff || actor.unitRole === "admin")) actions.push("edit");
  return actions;
}

export const ACTION_LABELS: Record<RequestAction, string> = {
  approve: "Approve",
  reject: "Reject",
  send_back: "Send back",
  allocate_storage: "Allocate storage",
  issue: "Issue",
  return: "Return",
  edit: "Edit",
};
