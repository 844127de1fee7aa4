/**
 * Retry of an ended task: the run that ended stays in its attempt history,
 * and the task goes back to the queue with a fresh set of attempts. Part of
 * the engine loop (`runner.ts`), which hands it what it needs.
 *
 * @module
 */

import { TaskConflictError, TaskNotFoundError } from "../model/errors.ts";
import type { Lifecycle } from "../model/lifecycle.ts";
import { currentAttempt, lastRunRecorded, recordAttempt, type Task } from "../model/task.ts";
import type { TaskIndex } from "../model/task_index.ts";
import type { TaskStore } from "../store/store.ts";

/** What a retry needs from the engine loop. */
export interface RetryParts {
  /** The tasks the engine holds, by id. */
  live: TaskIndex<Task>;
  store: TaskStore;
  lifecycle: Lifecycle;
  /** Puts a task back where the loop takes it from (the queue, or the store's). */
  place(task: Task, now: number): void;
}

/**
 * Runs a failed or cancelled task again, with the same id and priority and
 * a fresh set of attempts. `room` checks the queue limit first; a task that
 * is neither failed nor cancelled is a `TaskConflictError`.
 */
export async function retryTask(
  parts: RetryParts,
  id: string,
  room: (count: number) => Promise<void>,
): Promise<Task> {
  const task = parts.live.get(id) ?? await parts.store.get(id);
  if (task === undefined) throw new TaskNotFoundError(id);
  const retryable = () => {
    if (task.status === "failed" || task.status === "cancelled") return;
    throw new TaskConflictError(
      `Task ${id} is ${task.status}; only failed or cancelled tasks can be retried.`,
    );
  };
  retryable();
  await room(1);
  retryable(); // a concurrent retry may have won while the queue was measured
  const now = Date.now();
  if (task.startedAt !== null && !lastRunRecorded(task)) {
    // The run that ended stays in the timeline; the new runs count from 1 again.
    const ended = currentAttempt(task);
    recordAttempt(task, {
      outcome: ended.outcome,
      finishedAt: task.finishedAt ?? now,
      error: ended.error,
    });
  }
  parts.lifecycle.move(task, "queued", {
    attempts: 0,
    error: null,
    result: null,
    progress: null,
    startedAt: null,
    finishedAt: null,
    workerId: null,
    runAt: now,
  });
  const snapshot = { ...task };
  parts.place(task, now);
  return snapshot;
}
