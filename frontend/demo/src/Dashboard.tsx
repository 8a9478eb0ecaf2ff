import { streams } from "@syncline/client";
import { useLatestEvent } from "@syncline/react";
import { useQuery } from "@tanstack/react-query";
import { api } from "./api";

interface UnitRequests {
  unit_id: number;
  unit: string;
  by_status: Record<string, number>;
}

interface Kpis {
  requests?: UnitRequests[];
  invoices?: Record<string, number> | null;
  jobs_running?: number | null;
  submissions_waiting?: number;
  notifications?: Record<string, number>;
}

const STATUSES = ["pending", "approved", "sent_back", "issued", "returned", "rejected"];

/**
 * The staff dashboard: `GET /api/dashboard/` first, then each `dashboard.updated` (whose `data` is
 * the whole dashboard). Every figure keeps a `dashboard-<field>` test id.
 */
export function Dashboard() {
  const current = useQuery({ queryKey: ["dashboard"], queryFn: api.dashboard });
  const latest = useLatestEvent(streams.dashboard);
  const kpis = (latest?.data ?? current.data ?? {}) as Kpis;
  const requests = kpis.requests ?? [];
  const total = (status: string) => requests.reduce((sum, unit) => sum + (unit.by_status[status] ?? 0), 0);
  const invoices = Object.entries(kpis.invoices ?? {});
  const invoiceTotal = invoices.reduce((sum, [, n]) => sum + n, 0);
  return (
    <section className="dashboard" aria-label="Dashboard">
      <h2>Dashboard</h2>
      {current.isError && <p className="error">Could not load the dashboard: {current.error.message}</p>}
      <div className="kpis">
        <Kpi id="pending" label="Requests waiting for a decision" value={total("pending")} tone="warn" />
        <Kpi id="jobs_running" label="Background jobs running" value={kpis.jobs_running} />
        <Kpi id="submissions_waiting" label="Submissions to grade" value={kpis.submissions_waiting} />
        <Kpi
          id="notifications"
          label="Notifications pending / failed"
          value={kpis.notifications === undefined ? undefined : `${kpis.notifications.pending ?? 0} / ${kpis.notifications.failed ?? 0}`}
          tone={(kpis.notifications?.failed ?? 0) > 0 ? "bad" : undefined}
        />
      </div>
      <div className="grid-wide">
        <div className="card" data-testid="dashboard-requests">
          <h3>Requests by unit</h3>
          <table>
            <thead>
              <tr>
                <th>Unit</th>
                {STATUSES.map((status) => (
                  <th key={status} className="num">
                    {status.replace("_", " ")}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {requests.map((unit) => (
                <tr key={unit.unit_id}>
                  <td>{unit.unit}</td>
                  {STATUSES.map((status) => (
                    <td key={status} className="num">
                      {unit.by_status[status] ?? 0}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div className="card" data-testid="dashboard-invoices">
          <h3>Invoices by stage</h3>
          {kpis.invoices == null || invoices.length === 0 ? (
            <p className="muted">No invoices.</p>
          ) : (
            <ul className="bars">
              {invoices.map(([stage, n]) => (
                <li key={stage}>
                  <span>{stage.replaceAll("_", " ")}</span>
                  <span className="bar" style={{ width: `${Math.max(4, (100 * n) / invoiceTotal)}%` }} />
                  <span className="num">{n}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      <p className="muted">Updates live as requests, jobs, invoices and notifications change.</p>
    </section>
  );
}

function Kpi({ id, label, value, tone }: { id: string; label: string; value: unknown; tone?: "warn" | "bad" }) {
  return (
    <div className={`kpi ${tone ?? ""}`} data-testid={`dashboard-${id}`}>
      <span className="value">{value === null || value === undefined ? "—" : String(value)}</span>
      <span className="label">{label}</span>
    </div>
  );
}
