/**
 * The Syncline demo: sign in, watch a unit's requests, crates and audit trail change live, act on
 * requests as your role allows, discuss a request with whoever else is viewing it, and receive
 * notifications; staff get the live dashboard.
 *
 * Stable hooks for browser tests (keep them when changing the markup):
 *   #username, #password, #login   the sign-in form; #login-error shows a refused sign-in
 *   #ws-status                      the connection indicator: data-status is the client's status
 *                                   (connecting | open | reconnecting | closed, "closed" when signed
 *                                   out), data-phase what it shows (live, resumed, reconnecting, ...)
 *   #me                             the signed-in username
 *   #logout                         signs out and closes the socket
 *   #unit                           the unit shown (the user's first); #no-unit when there is none
 *   [data-testid="request-<id>"]    a request row, its data-actions the actions offered (approve
 *                                   reject send_back allocate_storage issue return edit);
 *                                   [data-testid="request-<id>-status"] its status;
 *                                   [data-testid="<action>-<id>"] an action's button (approve-7,
 *                                   send-back-7, allocate-storage-7...); #requests-error the last
 *                                   failed action; [data-testid="open-<id>"] opens the request
 *   [data-testid="crate-<id>"]      a crate row, [data-testid="crate-<id>-storage"] its location's name
 *   [data-testid="audit-<id>"]      an audit trail entry (unit admins and approvers)
 *   [data-testid="online"]          who is online in the unit (data-members: usernames)
 *   [data-testid="request-panel"]   the open request: [data-testid="viewers"] who is viewing it,
 *                                   comment-<id>, comment-body, comment-send, typing
 *   [data-testid="notification-<id>"], [data-testid="notifications-unread"]   the notifications
 *   [data-testid="dashboard-<field>"]                                         the staff dashboard
 */
import { streams } from "@syncline/client";
import { NotificationCenter, WebSocketProvider } from "@syncline/react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { type Me, type Unit, api, refreshAccessToken } from "./api";
import { AuditTrail } from "./AuditTrail";
import { ConnectionIndicator } from "./ConnectionIndicator";
import { CratesTable } from "./CratesTable";
import { Dashboard } from "./Dashboard";
import { LoginForm } from "./LoginForm";
import { People } from "./People";
import { RequestPanel } from "./RequestPanel";
import { RequestsTable } from "./RequestsTable";
import { session, useAccessToken } from "./session";

export function App() {
  const accessToken = useAccessToken();
  const queryClient = useQueryClient();
  const signOut = () => {
    session.set(null);
    // The next user must not see this one's cached data.
    queryClient.clear();
  };
  return (
    <WebSocketProvider accessToken={accessToken} refreshAccessToken={refreshAccessToken} onUnauthorized={signOut}>
      <header className="top">
        <h1>
          <span className="logo" aria-hidden="true">
            ◆
          </span>{" "}
          Syncline
        </h1>
        <ConnectionIndicator />
        {accessToken !== null && <Account onSignOut={signOut} />}
      </header>
      <main>{accessToken === null ? <LoginForm /> : <Workspace />}</main>
    </WebSocketProvider>
  );
}

function Account({ onSignOut }: { onSignOut: () => void }) {
  const me = useQuery({ queryKey: ["me"], queryFn: api.me });
  return (
    <span className="account">
      {me.data !== undefined && (
        <>
          <strong id="me">{me.data.username}</strong>
          {me.data.units[0] !== undefined ? (
            <span className="muted">
              {" "}
              · <span id="unit">{me.data.units[0].name}</span> · {me.data.units[0].role.replace("_", " ")}
            </span>
          ) : (
            <span id="no-unit" className="muted">
              {" "}
              · {me.data.is_staff ? "staff" : "in no unit"}
            </span>
          )}
        </>
      )}
      <a href="/jobs/" className="nav" title="Background jobs (signs in with the Django login)">
        Jobs
      </a>
      <button id="logout" type="button" onClick={onSignOut}>
        Sign out
      </button>
    </span>
  );
}

function Workspace() {
  const me = useQuery({ queryKey: ["me"], queryFn: api.me });
  if (me.isError) return <p className="error">Could not load your profile: {me.error.message}</p>;
  if (me.data === undefined) return <p className="muted">Loading…</p>;
  const unit = me.data.units[0];
  return (
    <div className="layout">
      <div className="content">
        {unit !== undefined && <UnitWorkspace me={me.data} unit={unit} />}
        {me.data.is_staff && <Dashboard />}
        {unit === undefined && !me.data.is_staff && <p className="muted">You are in no unit yet.</p>}
      </div>
      <aside className="sidebar">
        {unit !== undefined && (
          <section className="card">
            <People stream={streams.unitRequests(unit.id)} me={me.data.username} label={`Online in ${unit.name}`} testId="online" />
          </section>
        )}
        <Notifications userId={me.data.id} />
      </aside>
    </div>
  );
}

function UnitWorkspace({ me, unit }: { me: Me; unit: Unit }) {
  const storage = useQuery({ queryKey: ["storage", unit.id], queryFn: () => api.storage(unit.id) });
  const byId = useMemo(() => new Map((storage.data ?? []).map((location) => [location.id, location])), [storage.data]);
  const requests = useQuery({ queryKey: ["requests", unit.id], queryFn: () => api.requests(unit.id) });
  const [selected, setSelected] = useState<number | null>(null);
  const open = requests.data?.find((request) => request.id === selected);
  const actor = { username: me.username, is_staff: me.is_staff, unitRole: unit.role };
  const readsAudit = me.is_staff || unit.role === "admin" || unit.role === "approver";
  return (
    <>
      <RequestsTable unitId={unit.id} actor={actor} storage={byId} selected={selected} onSelect={setSelected} />
      {open !== undefined && <RequestPanel key={open.id} request={open} me={me.username} onClose={() => setSelected(null)} />}
      <div className="grid-2">
        <CratesTable unitId={unit.id} storage={byId} />
        {readsAudit && <AuditTrail unitId={unit.id} storage={byId} />}
      </div>
    </>
  );
}

/** Stored notifications first (`GET /api/notifications/`), then live; marking read is recorded. */
function Notifications({ userId }: { userId: number }) {
  const stored = useQuery({ queryKey: ["notifications"], queryFn: api.notifications });
  const queryClient = useQueryClient();
  const markRead = async (id: number | string) => {
    await api.markNotificationRead(id);
    await queryClient.invalidateQueries({ queryKey: ["notifications"] });
  };
  return (
    <div className="card">
      {stored.isError && <p className="error">Could not load notifications: {stored.error.message}</p>}
      <NotificationCenter userId={userId} initial={stored.data} onMarkRead={(id) => void markRead(id)} />
    </div>
  );
}
