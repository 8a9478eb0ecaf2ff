import { SendError, streams } from "@syncline/client";
import { useSend, useStream, useTyping } from "@syncline/react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { type Comment, type RequestRow, api } from "./api";
import { timeOf } from "./AuditTrail";
import { People } from "./People";

/**
 * One request: who is viewing it (presence of `requests.item.<id>`), its comment thread
 * (`GET /api/requests/<id>/comments/`, then `comment.created` live) with who is typing, and a box
 * that comments over the socket (`comment.create`).
 */
export function RequestPanel({ request, me, onClose }: { request: RequestRow; me: string; onClose: () => void }) {
  const stream = streams.request(request.id);
  const queryKey = ["comments", request.id];
  const comments = useQuery({ queryKey, queryFn: () => api.comments(request.id) });
  const queryClient = useQueryClient();
  const refetch = () => void queryClient.invalidateQueries({ queryKey });
  useStream(
    stream,
    (event) => {
      if ((event.type as string) !== "comment.created") return;
      const comment = event.data as unknown as Comment;
      queryClient.setQueryData<Comment[]>(queryKey, (current = []) =>
        current.some((known) => known.id === comment.id) ? current : [...current, comment],
      );
    },
    { onReset: refetch },
  );
  const { typists, notifyTyping } = useTyping(stream);
  const send = useSend();
  const [body, setBody] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSending(true);
    setError(null);
    try {
      await send(stream, "comment.create", { body });
      setBody("");
    } catch (failure) {
      setError(describeFailure(failure));
    } finally {
      setSending(false);
    }
  };

  return (
    <aside className="card panel" aria-label={`Request ${request.id}`} data-testid="request-panel">
      <header>
        <h2>
          #{request.id} {request.title}
        </h2>
        <button type="button" className="link" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </header>
      <p>
        <span className={`badge status-${request.status}`}>{request.status}</span> {request.request_type} request by{" "}
        {request.requester}
        {request.reason && <> · reason: {request.reason}</>}
        {request.comment && <> · sent back: {request.comment}</>}
      </p>
      <People stream={stream} me={me} label="Viewing now" testId="viewers" />
      <h3>Comments</h3>
      {comments.isError && <p className="error">Could not load the comments: {comments.error.message}</p>}
      <ol className="comments" data-testid="comments">
        {comments.data?.map((comment) => (
          <li key={comment.id} data-testid={`comment-${comment.id}`}>
            <strong>{comment.author}</strong> <time className="muted">{timeOf(comment.created_at)}</time>
            <p>{comment.body}</p>
          </li>
        ))}
      </ol>
      {comments.data?.length === 0 && <p className="muted">No comments yet.</p>}
      <p className="typing" data-testid="typing" aria-live="polite">
        {typists.length > 0 && `${typists.map((typist) => typist.username).join(", ")} ${typists.length > 1 ? "are" : "is"} typing…`}
      </p>
      <form className="comment-form" onSubmit={(event) => void submit(event)}>
        <textarea
          data-testid="comment-body"
          aria-label="Comment"
          placeholder="Write a comment…"
          value={body}
          maxLength={2000}
          required
          onChange={(event) => {
            setBody(event.target.value);
            notifyTyping();
          }}
        />
        <button type="submit" className="primary" data-testid="comment-send" disabled={sending || body.trim() === ""}>
          Comment
        </button>
      </form>
      {error !== null && (
        <p className="error" role="alert" data-testid="comment-error">
          {error}
        </p>
      )}
    </aside>
  );
}

function describeFailure(failure: unknown): string {
  if (!(failure instanceof SendError)) return String(failure);
  if (failure.code === "invalid" && failure.fields !== undefined) {
    return Object.values(failure.fields).flat().join(" ");
  }
  if (failure.code === "rate_limited") return "Too many messages at once; try again in a moment.";
  if (failure.code === "disconnected" || failure.code === "timeout") return "Not sent: the connection is down.";
  return failure.message;
}
