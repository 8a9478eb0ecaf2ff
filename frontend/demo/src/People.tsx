import type { PresenceMember } from "@syncline/client";
import { usePresence } from "@syncline/react";

/** Members of a presence stream as avatars with names; `me` is marked "(you)". */
export function People({ stream, me, label, testId }: { stream: string; me: string; label: string; testId: string }) {
  const { members, synced, truncated, count } = usePresence(stream);
  return (
    <div className="people" data-testid={testId} data-members={members.map((m) => m.username).join(" ")}>
      <span className="muted">{label}</span>
      {!synced ? (
        <span className="muted">…</span>
      ) : truncated ? (
        <p>{count?.members ?? "Many"} people</p>
      ) : (
        <ul>
          {members.map((member) => (
            <Person key={member.user_id} member={member} me={me} testId={testId} />
          ))}
        </ul>
      )}
    </div>
  );
}

function Person({ member, me, testId }: { member: PresenceMember; me: string; testId: string }) {
  const tabs = member.conns > 1 ? ` · ${member.conns} tabs` : "";
  return (
    <li data-testid={`${testId}-${member.username}`} title={`${member.username}${tabs}`}>
      <span className="avatar" style={{ background: colourOf(member.username) }} aria-hidden="true">
        {member.username.slice(0, 1).toUpperCase()}
      </span>
      {member.username}
      {member.username === me && <span className="muted"> (you)</span>}
    </li>
  );
}

function colourOf(name: string): string {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) % 360;
  return `hsl(${hash} 55% 45%)`;
}
