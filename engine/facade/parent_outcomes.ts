/**
 * What a dependent task learns of its parents: each ended parent's outcome
 * (for `ctx.parents`), and the error it is cancelled with when a parent
 * failed or was cancelled.
 *
 * @module
 */

import type { ParentOutcome, Task } from "../model/task.ts";

/**
 * A finished parent as its dependent's handler sees it.
 *
 * @example
 * ```ts ignore
 * outcomeOf(parent); // { id, type, status: "succeeded", result: 55, error: null }
 * ```
 */
export function outcomeOf(task: Task): ParentOutcome {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    result: task.status === "succeeded" ? task.result ?? null : null,
    error: task.error ?? null,
  };
}

/**
 * The error of a task cancelled because a parent failed or was cancelled.
 *
 * @example
 * ```ts ignore
 * lifecycle.move(task, "cancelled", { error: dependencyFailed(outcomeOf(parent)) });
 * ```
 */
export function dependencyFailed(parent: ParentOutcome): Task["error"] {
  return {
    name: "DependencyFailedError",
    message: `Task ${parent.id} (${parent.type}), which this task depends on, ${
      parent.status === "failed" ? "failed" : "was cancelled"
    }.`,
  };
}

/**
 * Gives a task its parents' outcomes for its worker (`ctx.parents`): kept
 * out of snapshots, events and the store (not enumerable).
 *
 * @example
 * ```ts ignore
 * attachParents(task, [outcomeOf(parent)]);
 * ```
 */
export function attachParents(task: Task, outcomes: ParentOutcome[]): void {
  Object.defineProperty(task, "parents", {
    value: outcomes,
    enumerable: false,
    writable: true,
    configurable: true,
  });
}
