import { streams } from "@syncline/client";
import { useLatestEvent } from "../hooks.js";

export interface DashboardRealtimeProps {
  /** Figures to show until the first update arrives, e.g. from the REST API. */
  initial?: Record<string, unknown>;
}

/**
 * The dashboard's figures (`dashboard.updated`, whose `data` is the whole dashboard), one row per
 * top-level field. Staff and mentors only. The stream replays its latest state on subscribe.
 */
export function DashboardRealtime({ initial = {} }: DashboardRealtimeProps) {
  const figures = useLatestEvent(streams.dashboard)?.data ?? initial;
  const entries = Object.entries(figures);
  return (
    <section className="syncline-dashboard" aria-label="Dashboard">
      <h2>Dashboard</h2>
      {entries.length === 0 ? (
        <p>Waiting for the next update…</p>
      ) : (
        <dl>
          {entries.map(([name, value]) => (
            <div key={name} data-testid={`dashboard-${name}`}>
              <dt>{name}</dt>
              <dd>
                <Figure value={value} />
              </dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

/** A value of any shape the backend sends: nested objects and lists become nested lists. */
function Figure({ value }: { value: unknown }) {
  if (Array.isArray(value)) {
    return (
      <ul>
        {value.map((item, index) => (
          <li key={index}>
            <Figure value={item} />
          </li>
        ))}
      </ul>
    );
  }
  if (typeof value === "object" && value !== null) {
    return (
      <ul>
        {Object.entries(value).map(([name, item]) => (
          <li key={name}>
            {name}: <Figure value={item} />
          </li>
        ))}
      </ul>
    );
  }
  return <>{value === null || value === undefined ? "—" : String(value)}</>;
}
