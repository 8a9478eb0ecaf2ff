import { useCrateUpdates } from "@syncline/react";
import { useQuery } from "@tanstack/react-query";
import { api } from "./api";

/** The unit's crates, kept current by the `crates.unit.<id>` stream. */
export function CratesTable({ unitId }: { unitId: number }) {
  const crates = useQuery({ queryKey: ["crates", unitId], queryFn: () => api.crates(unitId) });
  useCrateUpdates(unitId);

  return (
    <section aria-label="Crates">
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
            <tr key={crate.id} data-testid={`crate-${crate.id}`}>
              <td>{crate.code}</td>
              <td>{crate.description}</td>
              <td>{crate.storage ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
