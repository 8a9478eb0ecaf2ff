/** Hooks that keep TanStack Query caches fresh from the streams. */
import { streams } from "@syncline/client";
import { type QueryKey, useQueryClient } from "@tanstack/react-query";
import { type Id, useStream } from "./hooks.js";

/** Refetches the TanStack Query data under `queryKey` on every event of `stream`, and after a reset. */
function useInvalidateOnStream(stream: string | null, queryKey: QueryKey): void {
  const queryClient = useQueryClient();
  const invalidate = () => void queryClient.invalidateQueries({ queryKey });
  useStream(stream, invalidate, { onReset: invalidate });
}

/** Keeps queries under `["requests", unitId]` fresh while the component is mounted. */
export function useRequestUpdates(unitId: Id | null | undefined): void {
  useInvalidateOnStream(unitId == null ? null : streams.unitRequests(unitId), ["requests", unitId]);
}

/** Keeps queries under `["crates", unitId]` fresh while the component is mounted. */
export function useCrateUpdates(unitId: Id | null | undefined): void {
  useInvalidateOnStream(unitId == null ? null : streams.unitCrates(unitId), ["crates", unitId]);
}
