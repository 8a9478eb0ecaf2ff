import { useWebSocket } from "@syncline/react";
import { type Phase, useConnectionPhase } from "./live";

const LABELS: Record<Phase, string> = {
  "signed-out": "Offline",
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  resumed: "Resumed",
};

const HINTS: Record<Phase, string> = {
  "signed-out": "Sign in to receive live updates.",
  connecting: "Opening the live connection.",
  live: "Changes made by anyone appear here as they happen.",
  reconnecting: "The connection dropped; retrying. Nothing is lost: missed changes are replayed.",
  resumed: "Reconnected; the changes made meanwhile were replayed.",
};

/** The socket's state: `data-status` is the client's status, `data-phase` what the label says. */
export function ConnectionIndicator() {
  const { status } = useWebSocket();
  const phase = useConnectionPhase();
  return (
    <output id="ws-status" className="connection" data-status={status} data-phase={phase} title={HINTS[phase]}>
      <span className="dot" aria-hidden="true" />
      {LABELS[phase]}
    </output>
  );
}
