import { streams } from "@syncline/client";
import { useRequestUpdates, useStream } from "@syncline/react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { type RequestRow, type StorageLocation, api } from "./api";
import { useFlash } from "./live";
import { ACTION_LABELS, type Actor, type RequestAction, allowedActions } from "./permissions";

/** Actions that need a word from the user first, and what to ask. */
const ASKS: Partial<Record<RequestAction, string>> = {
  reject: "Reason",
  send_back: "What should change?",
  allocate_storage: "Storage location",
  edit: "Title",
};

interface Act {
  action: RequestAction;
  request: RequestRow;
  value: string;
}

function perform({ action, request, value }: Act): Promise<RequestRow> {
  switch (action) {
    case "approve":
      return api.approve(request.id);
    case "reject":
      return api.reject(request.id, value);
    case "send_back":
      return api.sendBack(request.id, value);
    case "allocate_storage":
      return api.allocateStorage(request.id, Number(value));
    case "issue":
      return api.issue(request.id);
    case "return":
      return api.return(request.id);
    case "edit":
      return api.edit(request, value);
  }
}

const testId = (action: RequestAction, id: number) => `${action.replace("_", "-")}-${id}`;

/**
 * The unit's requests, kept current by the `requests.unit.<id>` stream, with the actions the
 * signed-in user may take on each; a row an event just changed is highlighted.
 */
export function RequestsTable({
  unitId,
  actor,
  storage,
  selected,
  onSelect,
}: {
  unitId: number;
  actor: Actor;
  storage: Map<number, StorageLocation>;
  selected: number | null;
  onSelect: (id: number) => void;
}) {
  const requests = useQuery({ queryKey: ["requests", unitId], queryFn: () => api.requests(unitId) });
  useRequestUpdates(unitId);
  const queryClient = useQueryClient();
  const [flashed, flash] = useFlash();
  useStream(streams.unitRequests(unitId), (event) => {
    if (event.type !== "request.updated") return;
    // The event carries the request as the API serializes it: show it at once, before the
    // refetch (useRequestUpdates) confirms the list.
    const changed = event.data as unknown as RequestRow;
    queryClient.setQueryData<RequestRow[]>(["requests", unitId], (rows) =>
      rows?.some((row) => row.id === changed.id)
        ? rows.map((row) => (row.id === changed.id ? { ...row, ...changed } : row))
        : rows,
    );
    flash(Number(event.request_id));
  });
  const [asking, setAsking] = useState<{ action: RequestAction; id: number } | null>(null);
  // No cache update on success: the row changes through the stream's event, as every other
  // viewer's does. That is what the demo is for.
  const act = useMutation({ mutationFn: perform, onSuccess: () => setAsking(null) });

  const choose = (action: RequestAction, request: RequestRow) => {
    act.reset();
    if (ASKS[action] === undefined) act.mutate({ action, request, value: "" });
    else setAsking({ action, id: request.id });
  };

  return (
    <section className="card" aria-label="Requests">
      <h2>Requests</h2>
      {requests.isError && <p className="error">Could not load requests: {requests.error.message}</p>}
      {act.isError && (
        <p id="requests-error" className="error" role="alert">
          Could not {ACTION_LABELS[act.variables.action].toLowerCase()} request #{act.variables.request.id}:{" "}
          {act.error.message}
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>Title</th>
            <th>Type</th>
            <th>Requester</th>
            <th>Storage</th>
            <th>Status</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {requests.data?.map((request) => {
            const actions = allowedActions(request, actor);
            const ask = asking?.id === request.id ? asking.action : null;
            return (
              <tr
                key={request.id}
                data-testid={`request-${request.id}`}
                data-actions={actions.join(" ")}
                className={[flashed.has(request.id) ? "flash" : "", selected === request.id ? "selected" : ""].join(" ")}
              >
                <td className="muted">{request.id}</td>
                <td>
                  <button
                    type="button"
                    className="link"
                    data-testid={`open-${request.id}`}
                    onClick={() => onSelect(request.id)}
                  >
                    {request.title}
                  </button>
                </td>
                <td>{request.request_type}</td>
                <td>{request.requester}</td>
                <td>{storageName(storage, request.storage)}</td>
                <td>
                  <span className={`badge status-${request.status}`} data-testid={`request-${request.id}-status`}>
                    {request.status}
                  </span>
                </td>
                <td>
                  <div className="actions">
                    {ask !== null ? (
                      <AskForm
                        action={ask}
                        request={request}
                        storage={storage}
                        pending={act.isPending}
                        onSubmit={(value) => act.mutate({ action: ask, request, value })}
                        onCancel={() => setAsking(null)}
                      />
                    ) : (
                      actions.map((action) => (
                        <button
                          key={action}
                          type="button"
                          className={action === "approve" || action === "issue" ? "primary" : undefined}
                          data-testid={testId(action, request.id)}
                          disabled={act.isPending}
                          onClick={() => choose(action, request)}
                        >
                          {ACTION_LABELS[action]}
                        </button>
                      ))
                    )}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {requests.data?.length === 0 && <p className="muted">No requests in this unit yet.</p>}
    </section>
  );
}

export function storageName(storage: Map<number, StorageLocation>, id: number | null): string {
  if (id === null) return "—";
  return storage.get(id)?.name ?? `#${id}`;
}

function AskForm({
  action,
  request,
  storage,
  pending,
  onSubmit,
  onCancel,
}: {
  action: RequestAction;
  request: RequestRow;
  storage: Map<number, StorageLocation>;
  pending: boolean;
  onSubmit: (value: string) => void;
  onCancel: () => void;
}) {
  const [value, setValue] = useState(action === "edit" ? request.title : "");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(value);
  };
  const field = `${testId(action, request.id)}-value`;
  return (
    <form className="ask" onSubmit={submit}>
      {action === "allocate_storage" ? (
        <select aria-label={ASKS[action]} data-testid={field} value={value} required onChange={(e) => setValue(e.target.value)}>
          <option value="">Choose a location…</option>
          {[...storage.values()].map((location) => (
            <option key={location.id} value={location.id}>
              {location.name}
            </option>
          ))}
        </select>
      ) : (
        <input
          aria-label={ASKS[action]}
          placeholder={ASKS[action]}
          data-testid={field}
          value={value}
          required
          autoFocus
          onChange={(e) => setValue(e.target.value)}
        />
      )}
      <button type="submit" className="primary" data-testid={`${field}-submit`} disabled={pending}>
        {ACTION_LABELS[action]}
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
