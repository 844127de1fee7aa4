/**
 * What becomes of a run that did not succeed: a failed run is retried with
 * backoff while attempts remain, else its task fails; a run interrupted
 * through no fault of its own (a neighbour's timeout or cancel, shutdown)
 * gives its attempt back and its task waits again.
 *
 * @module
 */

import { OutOfMemoryError, TimeoutError, WorkerExitedError } from "../model/errors.ts";
import type { Lifecycle } from "../model/lifecycle.ts";
import { recordAttempt, type Task, type TaskError } from "../model/task.ts";
import type { InterruptCause, PoolJob } from "../pool/hooks.ts";
import type { StatsRecorder } from "./stats.ts";

/** What failure handling needs from the engine loop. */
export interface FailureParts {
  lifecycle: Lifecycle;
  stats: StatsRecorder;
  backoffMs: number;
  maxBackoffMs: number;
  /** Puts a task just moved to `queued` or `scheduled` where it waits. */
  place(task: Task, now: number): void;
  /** Whether requeued tasks are placed (not while draining). */
  accepting(): boolean;
}

/**
 * Retries `task` with backoff when attempts remain; fails it otherwise,
 * finished at `finishedAt` (the worker's clock when it reported the end).
 */
export function failRun(
  parts: FailureParts,
  task: Task,
  error: Error | TaskError,
  finishedAt: number,
): void {
  const { lifecycle } = parts;
  const recorded: TaskError = { name: error.name, message: error.message, stack: error.stack };
  if (task.attempts < task.maxAttempts) {
    recordAttempt(task, { outcome: "failed", finishedAt, error: recorded });
    // Backoff counts from this thread's clock: the retry is decided now.
    const now = Date.now();
    const delay = backoff(task.attempts, parts.backoffMs, parts.maxBackoffMs);
    if (delay > 0) {
      lifecycle.move(task, "scheduled", { error: recorded, runAt: now + delay });
    } else {
      lifecycle.move(task, "queued", { error: recorded, runAt: now });
    }
    parts.place(task, now);
    return;
  }
  lifecycle.move(task, "failed", { error: recorded, finishedAt });
}

/** `task`'s run (it was running) ended at `now` because its worker was replaced for `cause`. */
export function interruptRun(
  parts: FailureParts,
  task: Task,
  cause: InterruptCause,
  now: number,
): void {
  const { lifecycle, stats } = parts;
  if (payloadLost(task)) {
    lifecycle.move(task, "failed", {
      finishedAt: now,
      error: {
        name: "WorkerExitedError",
        message: "The worker holding the task's bytes exited; the bytes went with it.",
      },
    });
  } else if (cause.kind === "timeout" && cause.job === task) {
    // The slowest runs belong in the run-time histogram too.
    stats.run.record(cause.runMs);
    const error = new TimeoutError(cause.timeoutMs);
    stats.byType.record(task.type, false, cause.runMs, error, task.id, now);
    failRun(parts, task, error, now);
  } else if (cause.kind === "crashed") {
    const error = cause.outOfMemory === true
      ? new OutOfMemoryError(cause.reason)
      : new WorkerExitedError(cause.reason);
    stats.byType.record(task.type, false, null, error, task.id, now);
    failRun(parts, task, error, now);
  } else {
    // Not this task's fault (a neighbour timed out or was cancelled, or we are
    // shutting down): give the attempt back and queue it again.
    recordAttempt(task, { outcome: "interrupted", finishedAt: now, error: null });
    lifecycle.move(task, "queued", { attempts: task.attempts - 1, runAt: now });
    if (parts.accepting()) parts.place(task, now);
  }
}

/**
 * Exponential backoff with ±50% jitter, capped.
 *
 * @example
 * ```ts
 * import { backoff } from "./engine/facade/run_failures.ts";
 * backoff(3, 100, 30_000); // 200 to 600
 * ```
 */
export function backoff(attempt: number, baseMs: number, maxMs: number): number {
  if (baseMs === 0) return 0;
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.min(maxMs, Math.round(exponential * (0.5 + Math.random())));
}

/** Whether `job`'s byte payload went to a worker and did not come back. */
export function payloadLost(job: PoolJob): boolean {
  const payload = job.payload;
  return payload instanceof Uint8Array && payload.buffer instanceof ArrayBuffer &&
    payload.buffer.detached;
}
