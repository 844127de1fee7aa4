import { attemptTimeline } from "./attempts.ts";
import { formatDuration, formatTime } from "./format.ts";
import type { Task } from "./types.ts";

/** Props of {@linkcode AttemptTimeline}. */
export interface AttemptTimelineProps {
  task: Task;
}

/** Words for each outcome. */
const OUTCOMES: Record<string, string> = {
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  cancelled: "cancelled",
  interrupted: "interrupted (not counted)",
};

/**
 * Every run of a task, oldest first: attempt number, worker and node, start,
 * run time, outcome and error. A retry from the API starts the count again.
 *
 * @example
 * ```tsx ignore
 * <AttemptTimeline task={task} />
 * ```
 */
export function AttemptTimeline({ task }: AttemptTimelineProps) {
  const attempts = attemptTimeline(task);
  if (attempts.length === 0) return <p class="muted">Not run yet.</p>;
  return (
    <ol class="timeline" aria-label="Attempts, oldest first">
      {attempts.map((attempt, i) => (
        <li key={i} class={`attempt-${attempt.outcome}`} data-outcome={attempt.outcome}>
          <div class="attempt-head">
            <strong>Attempt {attempt.attempt}</strong>
            <span>{OUTCOMES[attempt.outcome] ?? attempt.outcome}</span>
            <span class="muted">
              worker {attempt.workerId ?? "–"}
              {attempt.nodeId ? ` on ${attempt.nodeId}` : ""}
            </span>
            <span class="mono muted">{formatTime(attempt.startedAt)} UTC</span>
            <span>
              {attempt.finishedAt === null
                ? "running"
                : `ran ${formatDuration(attempt.finishedAt - attempt.startedAt)}`}
            </span>
          </div>
          {attempt.error && (
            <p class="attempt-error">
              <strong>{attempt.error.name}</strong>: {attempt.error.message}
            </p>
          )}
        </li>
      ))}
    </ol>
  );
}
