import { useRequestUpdates } from "@syncline/react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api } from "./api";

/** The unit's requests, kept current by the `requests.unit.<id>` stream. */
export function RequestsTable({ unitId }: { unitId: number }) {
  const requests = useQuery({ queryKey: ["requests", unitId], queryFn: () => api.requests(unitId) });
  useRequestUpdates(unitId);
  // No cache update on success: the row changes through the stream's event, as every other
  // viewer's does. That is what the demo is for.
  const approve = useMutation({ mutationFn: api.approve });

  return (
    <section aria-label="Requests">
      <h2>Requests</h2>
      {requests.isError && <p className="error">Could not load requests: {requests.error.message}</p>}
      {approve.isError && (
        <p id="requests-error" className="error" role="alert">
          Could not approve: {approve.error.message}
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th>Title</th>
            <th>Type</th>
            <th>Requester</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {requests.data?.map((request) => (
            <tr key={request.id} data-testid={`request-${request.id}`}>
              <td>{request.title}</td>
              <td>{request.request_type}</td>
              <td>{request.requester}</td>
              <td data-testid={`request-${request.id}-status`}>{request.status}</td>
              <td>
                {request.status === "pending" && (
                  <button
                    type="button"
                    data-testid={`approve-${request.id}`}
                    disabled={approve.isPending}
                    onClick={() => approve.mutate(request.id)}
                  >
                    Approve
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
