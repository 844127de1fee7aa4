/**
 * What a task handler receives. Import these types in your own task modules.
 *
 * @example
 * ```ts
 * import type { TaskContext } from "./workers/context.ts";
 * export default async function (payload: { url: string }, ctx: TaskContext) {
 *   ctx.progress(0.5);
 *   return { ok: !ctx.signal.aborted, url: payload.url };
 * }
 * ```
 *
 * @module
 */

import type { ParentOutcome, ProgressValue } from "../model/task.ts";

export type { ParentOutcome };

/** The second argument of every task handler. */
export interface TaskContext {
  /** Aborted when the task is cancelled; stop soon after, or the worker is replaced. */
  signal: AbortSignal;
  /** Reports progress: a fraction from 0 to 1, or `{ done, total }`. Cheap to call often. */
  progress(value: ProgressValue): void;
  taskId: string;
  /** Which attempt this is, from 1. */
  attempt: number;
  /**
   * The tasks this one depends on (`dependsOn`), in that order, each with
   * its status and result (`null` unless it succeeded); empty for a task
   * that depends on none.
   */
  readonly parents: readonly ParentOutcome[];
}

/** A task type module's default export. */
export type TaskHandler = (payload: unknown, ctx: TaskContext) => unknown;
