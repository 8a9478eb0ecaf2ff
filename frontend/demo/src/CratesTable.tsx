import { streams } from "@syncline/client";
import { useCrateUpdates, useStream } from "@syncline/react";
import { useQuery } from "@tanstack/react-query";
import { type StorageLocation, api } from "./api";
import { useFlash } from "./live";
import { storageName } from "./RequestsTable";

/** The unit's crates, kept current by the `crates.unit.<id>` stream, with their storage by name. */
export function CratesTable({ unitId, storage }: { unitId: number; storage: Map<number, StorageLocation> }) {
  const crates = useQuery({ queryKey: ["crates", unitId], queryFn: () => api.crates(unitId) });
  useCrateUpdates(unitId);
  const [flashed, flash] = useFlash();
  useStream(streams.unitCrates(unitId), (event) => flash(Number(event.crate_id)));

  return (
    <section className="card" aria-label="Crates">
      <h2>Crates</h2>
      {crates.isError && <p className="error">Could not load crates: {crates.error.message}</p>}
      <table>
        <thead>
          <tr>
            <th>Code</th>
            <th>Description</th>
            <th>Storage</th>
          </tr>
        </thead>
        <tbody>
          {crates.data?.map((crate) => (
            <tr key={crate.id} data-testid={`crate-${crate.id}`} className={flashed.has(crate.id) ? "flash" : undefined}>
              <td>
                <code>{crate.code}</code>
              </td>
              <td>{crate.description}</td>
              <td data-testid={`crate-${crate.id}-storage`}>{storageName(storage, crate.storage)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
