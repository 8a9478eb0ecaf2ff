import { describe, expect, it } from "vitest";
import type { RequestRow, RequestStatus } from "../src/api";
import { type Actor, allowedActions } from "../src/permissions";

function request(status: RequestStatus, requester = "bob"): RequestRow {
  return {
    id: 1,
    unit: 1,
    title: "Storage of N-0001",
    request_type: "storage",
    status,
    requester,
    crate: null,
    storage: null,
    reason: "",
    comment: "",
    updated_at: "2026-11-21T12:34:56.789Z",
  };
}

const member = (username: string, unitRole: string | null): Actor => ({ username, is_staff: false, unitRole });
const alice = member("alice", "approver");
const bob = member("bob", "requester");
const sam = member("sam", "store_head");
const nina = member("nina", "admin");
const admin: Actor = { username: "admin", is_staff: true, unitRole: null };
const stranger = member("dan", null);

describe("allowedActions (the rules of apps/requests/services.py)", () => {
  it.each([
    ["pending", alice, ["approve", "reject", "send_back"]],
    ["pending", bob, ["edit"]],
    ["pending", sam, []],
    ["pending", nina, ["approve", "reject", "send_back", "edit"]],
    ["pending", admin, ["approve", "reject", "send_back", "edit"]],
    ["sent_back", bob, ["edit"]],
    ["sent_back", alice, []],
    ["approved", sam, ["allocate_storage", "issue"]],
    ["approved", alice, []],
    ["approved", bob, []],
    ["issued", sam, ["return"]],
    ["issued", nina, ["return"]],
    ["rejected", nina, []],
    ["returned", admin, []],
    ["pending", stranger, []],
  ] as const)("%s request, %s", (status, actor, expected) => {
    expect(allowedActions(request(status), actor)).toEqual(expected);
  });

  it("lets a requester edit only their own requests", () => {
    expect(allowedActions(request("pending", "someone-else"), bob)).toEqual([]);
  });
});
