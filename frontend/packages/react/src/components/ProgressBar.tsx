import { useProgress } from "../hooks.js";

export interface ProgressBarProps {
  jobId: number | string;
}

/** A background job's progress, live: `data-testid="progress-<jobId>"`. */
export function ProgressBar({ jobId }: ProgressBarProps) {
  const progress = useProgress(jobId);
  const percent = Math.round(progress?.percent ?? 0);
  return (
    <div className="syncline-progress" data-testid={`progress-${jobId}`} data-status={progress?.status ?? "pending"}>
      <progress max={100} value={percent} aria-label={`Job ${jobId}`} />
      <span>{progress === null ? "Waiting for the job…" : `${percent}% ${progress.message}`.trim()}</span>
    </div>
  );
}
