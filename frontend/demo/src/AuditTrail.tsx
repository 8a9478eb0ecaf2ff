import { streams } from "@syncline/client";
import { useStream } from "@syncline/react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type AuditEntry, api } from "./api";
import { useFlash } from "./live";

const SHOWN = 12;

/** The unit's audit trail, newest first: `GET /api/audit/?unit=`, refreshed by `audit.unit.<id>`. */
export function AuditTrail({ unitId }: { unitId: number }) {
  const queryKey = ["audit", unitId];
  const audit = useQuery({ queryKey, queryFn: () => api.audit(unitId) });
  const queryClient = useQueryClient();
  const [flashed, flash] = useFlash();
  const refetch = () => void queryClient.invalidateQueries({ queryKey });
  useStream(
    streams.unitAudit(unitId),
    (event) => {
      flash(Number(event.audit_id));
      refetch();
    },
    { onReset: refetch },
  );
  return (
    <section className="card" aria-label="Audit trail">
      <h2>Audit trail</h2>
      {audit.isError && <p className="error">Could not load the audit trail: {audit.error.message}</p>}
      <ol className="audit">
        {audit.data?.slice(0, SHOWN).map((entry) => (
          <li key={entry.id} data-testid={`audit-${entry.id}`} className={flashed.has(entry.id) ? "flash" : undefined}>
            <time dateTime={entry.created_at}>{timeOf(entry.created_at)}</time>
            <span>
              <strong>{entry.actor ?? "system"}</strong> {describe(entry)}
            </span>
          </li>
        ))}
      </ol>
      {audit.data?.length === 0 && <p className="muted">Nothing recorded yet.</p>}
    </section>
  );
}

function describe(entry: AuditEntry): string {
  const changes = Object.entries(entry.changes)
    .map(([field, change]) => `${field} ${formatChange(change)}`)
    .join(", ");
  const what = `${entry.action.replaceAll("_", " ")} ${entry.object_type} #${entry.object_id}`;
  return changes ? `${what}: ${changes}` : what;
}

/** A change is recorded as `[old, new]`. */
function formatChange(change: unknown): string {
  if (Array.isArray(change) && change.length === 2) return `${show(change[0])} → ${show(change[1])}`;
  return show(change);
}

function show(value: unknown): string {
  return value === null || value === undefined || value === "" ? "—" : String(value);
}

export function timeOf(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
