/**
 * The Syncline demo: sign in, watch a unit's requests and crates change live, approve requests,
 * receive notifications; staff also see the live dashboard.
 *
 * Stable hooks for browser tests (keep them when changing the markup):
 *   #username, #password, #login   the sign-in form; #login-error shows a refused sign-in
 *   #ws-status                      the socket's status: connecting | open | reconnecting | closed
 *                                   ("closed" when signed out); also as its data-status attribute
 *   #me                             the signed-in username
 *   #logout                         signs out and closes the socket
 *   #unit                           the unit shown (the user's first); #no-unit when there is none
 *   [data-testid="request-<id>"]    a request row; [data-testid="request-<id>-status"] its status text;
 *                                   [data-testid="approve-<id>"] its Approve button (pending requests);
 *                                   #requests-error the last failed action
 *   [data-testid="crate-<id>"]      a crate row
 *   [data-testid="notification-<id>"], [data-testid="notifications-unread"]   the notification center
 *   [data-testid="dashboard-<field>"]                                         the staff dashboard
 */
import { DashboardRealtime, NotificationCenter, WebSocketProvider, useWebSocket } from "@syncline/react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, refreshAccessToken } from "./api";
import { CratesTable } from "./CratesTable";
import { LoginForm } from "./LoginForm";
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
      <header>
        <h1>Syncline demo</h1>
        <SocketStatus />
        {accessToken !== null && (
          <button id="logout" type="button" onClick={signOut}>
            Logout
          </button>
        )}
      </header>
      <main>{accessToken === null ? <LoginForm /> : <Workspace />}</main>
    </WebSocketProvider>
  );
}

function SocketStatus() {
  const { status } = useWebSocket();
  return (
    <span>
      Live: <output id="ws-status" data-status={status}>{status}</output>
    </span>
  );
}

function Workspace() {
  const me = useQuery({ queryKey: ["me"], queryFn: api.me });
  if (me.isError) return <p className="error">Could not load your profile: {me.error.message}</p>;
  if (me.data === undefined) return <p>Loading…</p>;
  const { id, username, is_staff, units } = me.data;
  const unit = units[0];
  return (
    <>
      <p>
        Signed in as <strong id="me">{username}</strong>
        {unit === undefined ? (
          <span id="no-unit">, in no unit.</span>
        ) : (
          <>
            , unit <strong id="unit">{unit.name}</strong> ({unit.role}).
          </>
        )}
      </p>
      {unit !== undefined && (
        <>
          <RequestsTable unitId={unit.id} />
          <CratesTable unitId={unit.id} />
        </>
      )}
      <NotificationCenter userId={id} onMarkRead={(notificationId) => void api.markNotificationRead(notificationId)} />
      {is_staff && <StaffDashboard />}
    </>
  );
}

/** The live dashboard, starting from the current figures rather than waiting for a change. */
function StaffDashboard() {
  const current = useQuery({ queryKey: ["dashboard"], queryFn: api.dashboard });
  return <DashboardRealtime initial={current.data} />;
}
