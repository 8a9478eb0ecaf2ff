import { streams } from "@syncline/client";
import { useStream } from "@syncline/react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type AuditEntry, type StorageLocation, api } from "./api";
import { useFlash } from "./live";
import { storageName } from "./RequestsTable";

const SHOWN = 12;

/** The unit's audit trail, newest first: `GET /api/audit/?unit=`, refreshed by `audit.unit.<id>`. */
export function AuditTrail({ unitId, storage }: { unitId: number; storage: Map<number, StorageLocation> }) {
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
              <strong>{entry.actor ?? "system"}</strong> {describe(entry, storage)}
            </span>
          </li>
        ))}
      </ol>
      {audit.data?.length === 0 && <p className="muted">Nothing recorded yet.</p>}
    </section>
  );
}

function describe(entry: AuditEntry, storage: Map<number, StorageLocation>): string {
  // Storage locations are recorded by id; the reader knows them by name.
  const named = (field: string, value: unknown) =>
    field === "storage" && typeof value === "number" ? storageName(storage, value) : value;
  const changes = Object.entries(entry.changes)
    .map(([field, change]) => `${field} ${formatChange(change, (value) => named(field, value))}`)
    .join(", ");
  const what = `${entry.action.replaceAll("_", " ")} ${entry.object_type} #${entry.object_id}`;
  return changes ? `${what}: ${changes}` : what;
}

/** A change is recorded as `[old, new]`. */
function formatChange(change: unknown, name: (value: unknown) => unknown): string {
  if (Array.isArray(change) && change.length === 2) return `${show(name(change[0]))} → ${show(name(change[1]))}`;
  return show(name(change));
}

function show(value: unknown): string {
  return value === null || value === undefined || value === "" ? "—" : String(value);
}

export function timeOf(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}
