/**
 * Who is on a presence stream, kept from the server's `presence.state` and its `presence.join` /
 * `presence.leave` diffs (docs/protocol.md section 6).
 *
 * Each diff carries the stream's `rev`, which grows by one with every change of the member set. A
 * diff whose rev is the current one plus one applies; any other rev means a diff was missed (or the
 * server's count started again), so the set is asked for afresh with `presence.get`. Diffs that
 * arrive while no state is known (before the first one, after a gap, after a reconnect) wait in a
 * buffer and apply on top of the next state when they are newer than it.
 */
import type {
  PresenceCount,
  PresenceJoinMessage,
  PresenceLeaveMessage,
  PresenceMember,
  PresenceMessage,
} from "./protocol.js";

export interface PresenceSync {
  /** Every member, ordered by username. */
  members: PresenceMember[];
  /** The member set is too large to list: `members` is empty, `count` says how many; joins and leaves stop. */
  truncated: boolean;
  count?: PresenceCount;
}

export interface PresenceHandlers {
  /** A full member set replaced the one known before: the first, after a gap, after a reconnect. */
  onSync?: (sync: PresenceSync) => void;
  /** A user's first connection to the stream appeared. */
  onJoin?: (member: PresenceMember) => void;
  /** A user's last connection to the stream went. */
  onLeave?: (member: PresenceMember) => void;
}

type Diff = PresenceJoinMessage | PresenceLeaveMessage;

export class PresenceState {
  private members = new Map<number, PresenceMember>();
  /** The rev of what `members` shows; null while waiting for a state. */
  private rev: number | null = null;
  private truncated = false;
  private count: PresenceCount | undefined;
  private buffered: Diff[] = [];

  constructor(
    private readonly handlers: PresenceHandlers,
    /** Asks the server for a fresh `presence.state`. */
    private readonly requestState: () => void,
  ) {}

  /** What `onSync` was last told, with the changes since. */
  snapshot(): PresenceSync {
    const sync: PresenceSync = { members: this.list(), truncated: this.truncated };
    if (this.count !== undefined) sync.count = this.count;
    return sync;
  }

  /** The members known now, ordered by username. */
  list(): PresenceMember[] {
    return [...this.members.values()].sort((a, b) => a.username.localeCompare(b.username));
  }

  /** Whether a state has arrived on the current connection. */
  get synced(): boolean {
    return this.rev !== null;
  }

  /** The socket dropped: the set shown stays until the new connection's state replaces it. */
  disconnected(): void {
    this.rev = null;
    this.buffered = [];
  }

  handle(message: PresenceMessage): void {
    if (message.type === "presence.state") return this.applyState(message);
    if (this.rev === null) {
      this.buffered.push(message);
    } else if (message.rev === this.rev + 1) {
      this.applyDiff(message);
    } else {
      this.resync(message);
    }
  }

  private applyState(state: Extract<PresenceMessage, { type: "presence.state" }>): void {
    this.members = new Map(Object.values(state.members).map((member) => [member.user_id, { ...member }]));
    this.rev = state.rev;
    this.truncated = state.truncated === true;
    this.count = state.count;
    const buffered = this.buffered.filter((diff) => diff.rev > state.rev).sort((a, b) => a.rev - b.rev);
    this.buffered = [];
    this.handlers.onSync?.(this.snapshot());
    for (const [index, diff] of buffered.entries()) {
      if (diff.rev !== this.rev + 1) {
        // A buffered diff is missing: what follows it cannot be trusted either.
        this.buffered = buffered.slice(index);
        this.rev = null;
        this.requestState();
        return;
      }
      this.applyDiff(diff);
    }
  }

  private applyDiff(diff: Diff): void {
    this.rev = diff.rev;
    if (diff.type === "presence.join") {
      const known = this.members.get(diff.user_id);
      const member = known ?? { user_id: diff.user_id, username: diff.username, conns: 1 };
      this.members.set(diff.user_id, member);
      if (known === undefined) this.handlers.onJoin?.(member);
      return;
    }
    const member = this.members.get(diff.user_id);
    if (member === undefined) return;
    this.members.delete(diff.user_id);
    this.handlers.onLeave?.(member);
  }

  /** A rev it did not expect: ask for the whole set and keep the diff in case it is newer. */
  private resync(diff: Diff): void {
    this.rev = null;
    this.buffered = [diff];
    this.requestState();
  }
}
