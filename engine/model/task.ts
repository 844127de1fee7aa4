/**
 * The task model: what a task is, the statuses it moves through, and what a
 * submitter may ask for.
 *
 * @module
 */

/**
 * Where a task is in its life. `blocked` waits for the tasks it depends on;
 * `succeeded`, `failed` and `cancelled` are terminal.
 */
export type TaskStatus =
  | "blocked"
  | "scheduled"
  | "queued"
  | "running"
  | "succeeded"
  | "failed"
  | "cancelled";

/** Every status, in lifecycle order. */
export const TASK_STATUSES: readonly TaskStatus[] = [
  "blocked",
  "scheduled",
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
];

/** The statuses a task ends in. */
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>([
  "succeeded",
  "failed",
  "cancelled",
]);

export { DEFAULT_PRIORITY, MAX_PRIORITY, MIN_PRIORITY } from "./limits.ts";

/** A serialisable error, as recorded on a failed task. */
export interface TaskError {
  /** Error class name, e.g. `TimeoutError`, `WorkerExitedError`, `TypeError`. */
  name: string;
  message: string;
  stack?: string;
}

/** Progress as reported by a handler: a fraction from 0 to 1, or counts. */
export type ProgressValue = number | { done: number; total: number };

/**
 * One task. Timestamps are milliseconds since the Unix epoch.
 *
 * @example
 * ```ts
 * import type { Task } from "./mod.ts";
 * function describe(task: Task): string {
 *   return `${task.id} ${task.type} p${task.priority} ${task.status}`;
 * }
 * ```
 */
export interface Task {
  /** UUIDv7: unique, and sorts by creation time. */
  id: string;
  /** Name of the task type (a built-in or a module in `tasksDir`). */
  type: string;
  /** JSON value, or bytes (`Uint8Array`). */
  payload: unknown;
  /** 1 to 10; 10 is the most urgent. */
  priority: number;
  status: TaskStatus;
  /** Attempts started so far. */
  attempts: number;
  maxAttempts: number;
  /** A run longer than this fails with `TimeoutError` (or is retried). */
  timeoutMs: number;
  /** Last progress reported, as a fraction from 0 to 1; `null` before any. */
  progress: number | null;
  /** The handler's return value (JSON value or bytes) once succeeded. */
  result: unknown;
  error: TaskError | null;
  createdAt: number;
  /** Earliest time the task may run. Equals `createdAt` unless delayed. */
  runAt: number;
  /** When the current (or last) attempt was handed to a worker. */
  startedAt: number | null;
  finishedAt: number | null;
  /** Worker slot running (or that last ran) the task. */
  workerId: number | null;
  /** Client-chosen key: a second submit with the same key returns this task. */
  idempotencyKey: string | null;
  /** Node that runs (or last ran) the task; set by shared stores. */
  nodeId: string | null;
  /**
   * Ids of the tasks this one waits for (it is `blocked` until each has
   * succeeded); absent when it depends on none.
   */
  dependsOn?: string[];
  /**
   * When a task it depends on fails or is cancelled: `cancel` (default)
   * cancels this one with that reason; `run` runs it anyway once all have ended.
   */
  onParentFailure?: ParentFailurePolicy;
  /** The schedule that submitted this task and the tick it fired for; absent for other tasks. */
  schedule?: TaskScheduleRef;
  /**
   * Attempts before the current (or last) one, oldest first; absent until a
   * run ends and the task runs again. The current attempt is the task's own
   * `startedAt`, `finishedAt`, `workerId`, `nodeId` and `error`
   * (see {@linkcode attemptTimeline}). At most {@linkcode MAX_ATTEMPT_HISTORY}.
   */
  history?: TaskAttempt[];
  /** The task this one retries with changes (its payload or options edited); absent otherwise. */
  retryOf?: string;
}

/** Which schedule submitted a task, and for which tick. */
export interface TaskScheduleRef {
  /** The schedule's name. */
  name: string;
  /** The tick it fired for, ms since epoch. */
  tick: number;
}

/** How one attempt ended: `running` while it runs. */
export type AttemptOutcome = "running" | "succeeded" | "failed" | "cancelled" | "interrupted";

/**
 * One run of a task on a worker. `interrupted` means the attempt was given
 * back (another task's timeout or a cancel replaced the worker, or the node
 * stopped) and did not count.
 *
 * @example
 * ```ts
 * import type { TaskAttempt } from "./mod.ts";
 * const attempt: TaskAttempt = {
 *   attempt: 1, workerId: 0, nodeId: null, startedAt: 0, finishedAt: 12,
 *   outcome: "failed", error: { name: "TypeError", message: "n must be a number" },
 * };
 * ```
 */
export interface TaskAttempt {
  /** The attempt's number, from 1 (a retry from the API starts again at 1). */
  attempt: number;
  workerId: number | null;
  nodeId: string | null;
  startedAt: number;
  finishedAt: number | null;
  outcome: AttemptOutcome;
  /** Why it failed (name and message, without the stack); `null` otherwise. */
  error: TaskError | null;
}

/** Most past attempts a task keeps; older ones are dropped first. */
export const MAX_ATTEMPT_HISTORY = 100;

/**
 * Every attempt of `task`, oldest first: its `history` and the current (or
 * last) attempt from its own fields. Empty before the first start.
 *
 * @example
 * ```ts ignore
 * for (const a of attemptTimeline(task)) console.log(a.attempt, a.outcome, a.workerId);
 * ```
 */
export function attemptTimeline(task: Task): TaskAttempt[] {
  const past = task.history ?? [];
  if (task.startedAt === null || lastRunRecorded(task)) return [...past];
  return [...past, currentAttempt(task)];
}

/**
 * Whether the run in `task`'s own fields is already the last entry of its
 * history (a failed attempt waiting for its retry). Two attempts may start in
 * the same millisecond, so the attempt number tells them apart too.
 */
export function lastRunRecorded(task: Task): boolean {
  const last = task.history?.[task.history.length - 1];
  return last !== undefined && last.startedAt === task.startedAt &&
    last.attempt === Math.max(1, task.attempts);
}

/** The current (or last) attempt, from the task's own fields. */
export function currentAttempt(task: Task): TaskAttempt {
  const outcome: AttemptOutcome = task.status === "running"
    ? "running"
    : task.status === "succeeded"
    ? "succeeded"
    : task.status === "cancelled"
    ? "cancelled"
    : task.error !== null
    ? "failed"
    : "interrupted";
  return {
    attempt: Math.max(1, task.attempts),
    workerId: task.workerId,
    nodeId: task.nodeId,
    startedAt: task.startedAt ?? 0,
    finishedAt: task.status === "running" ? null : task.finishedAt,
    outcome,
    error: task.error === null || outcome === "succeeded"
      ? null
      : { name: task.error.name, message: task.error.message },
  };
}

/**
 * Adds the attempt that just ended to `task.history` (the task still holds
 * its fields), keeping at most {@linkcode MAX_ATTEMPT_HISTORY}.
 */
export function recordAttempt(
  task: Task,
  ended: { outcome: AttemptOutcome; finishedAt: number; error: TaskError | null },
): void {
  if (task.startedAt === null) return;
  // A new array: snapshots already handed out (events, answers) keep theirs.
  const history = [...(task.history ?? []), {
    attempt: Math.max(1, task.attempts),
    workerId: task.workerId,
    nodeId: task.nodeId,
    startedAt: task.startedAt,
    finishedAt: ended.finishedAt,
    outcome: ended.outcome,
    error: ended.error === null ? null : { name: ended.error.name, message: ended.error.message },
  }];
  if (history.length > MAX_ATTEMPT_HISTORY) history.splice(0, history.length - MAX_ATTEMPT_HISTORY);
  task.history = history;
}

/** What a dependent task does when a task it depends on fails or is cancelled. */
export type ParentFailurePolicy = "cancel" | "run";

/** A finished parent's outcome, as the dependent task's handler sees it (`ctx.parents`). */
export interface ParentOutcome {
  id: string;
  type: string;
  status: TaskStatus;
  /** Its result when it succeeded, else `null`. */
  result: unknown;
  /** Why it failed or was cancelled, else `null`. */
  error: TaskError | null;
}

/**
 * What a submitter may ask for. Only `type` is required.
 *
 * @example
 * ```ts
 * import type { SubmitInput } from "./mod.ts";
 * const input: SubmitInput = { type: "fib", payload: { n: 30 }, priority: 9 };
 * ```
 */
export interface SubmitInput {
  type: string;
  payload?: unknown;
  /** Integer 1–10; default 5. */
  priority?: number;
  /** Run no earlier than this many milliseconds from now. */
  delayMs?: number;
  /** Run no earlier than this time (ms since epoch, or an ISO 8601 string). */
  runAt?: number | string;
  /** Per-task run time limit; default the engine's `defaultTimeoutMs`. */
  timeoutMs?: number;
  /** 1 to 100; default the engine's `defaultMaxAttempts`. */
  maxAttempts?: number;
  /** Up to 200 characters. */
  idempotencyKey?: string;
  /**
   * Tasks this one waits for: ids of existing tasks, or, in a batch, `"#n"`
   * for the batch's task at index `n` (an earlier one). Up to 100.
   */
  dependsOn?: string[];
  /** `cancel` (default) or `run`: see {@linkcode Task.onParentFailure}. */
  onParentFailure?: ParentFailurePolicy;
  /** Id of the task this one retries with changes; recorded as the new task's `retryOf`. */
  retryOf?: string;
}

/** The answer to a submit: the task, and whether this call created it. */
export interface SubmitResult {
  task: Task;
  /** `false` when an earlier task with the same idempotency key was returned. */
  created: boolean;
}

/** Count of tasks in each status. */
export type StatusCounts = Record<TaskStatus, number>;

/** Zeroed counts, to start from. */
export function emptyCounts(): StatusCounts {
  return {
    blocked: 0,
    scheduled: 0,
    queued: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
  };
}

/** Whether `status` is terminal. */
export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}
