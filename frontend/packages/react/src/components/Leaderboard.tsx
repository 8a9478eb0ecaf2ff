import { streams } from "@syncline/client";
import { useLatestEvent } from "../hooks.js";

/** One row of `GET /api/academy/leaderboard/`'s `entries`; students not yet graded have null rank and score. */
export interface LeaderboardEntry {
  rank: number | null;
  username: string;
  score: number | null;
}

export interface LeaderboardProps {
  /** Entries to show until the first update arrives, e.g. from `GET /api/academy/leaderboard/`. */
  initial?: LeaderboardEntry[];
}

/** The academy leaderboard, in the server's order, replaced on each `leaderboard.updated`. */
export function Leaderboard({ initial = [] }: LeaderboardProps) {
  const event = useLatestEvent(streams.leaderboard);
  const entries = event === null ? initial : toEntries(event.data.entries);
  return (
    <section className="syncline-leaderboard" aria-label="Leaderboard">
      <h2>Leaderboard</h2>
      <table>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.username} data-testid={`leaderboard-${entry.username}`}>
              <td>{entry.rank ?? "–"}</td>
              <td>{entry.username}</td>
              <td>{entry.score === null ? "–" : entry.score.toFixed(1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// The event's data comes off the wire: keep only well-formed entries.
function toEntries(value: unknown): LeaderboardEntry[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown) => {
    if (typeof entry !== "object" || entry === null || !("username" in entry)) return [];
    const { username, rank, score } = entry as Record<string, unknown>;
    if (typeof username !== "string") return [];
    return [{ username, rank: typeof rank === "number" ? rank : null, score: typeof score === "number" ? score : null }];
  });
}
