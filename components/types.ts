/**
 * Types the dashboard shares between server and browser. Type-only imports
 * from the engine: nothing here reaches a bundle.
 *
 * @module
 */

export type {
  LatencySummary,
  Schedule,
  ScheduleEvent,
  StatusCounts,
  Task,
  TaskError,
  TaskEvent,
  TaskEventType,
  TaskStatus,
  ThreadFlowEvent,
  WorkerEvent,
  WorkerInfo,
} from "../engine/mod.ts";

import type { LatencySummary } from "../engine/mod.ts";

/** The parts of the engine's `EngineStats` the dashboard reads. */
export interface DashboardStats {
  nodeId: string;
  store: string;
  state: "running" | "draining" | "closed";
  uptimeMs: number;
  counts: Record<string, number>;
  queuedByPriority: Record<string, number>;
  oldestQueuedAgeMs: Record<string, number | null>;
  throughput: { perSecond: number[]; last60s: number };
  waitMs: LatencySummary;
  runMs: LatencySummary;
  workers: { total: number; busy: number; idle: number; restarts: number };
}

/** A task type as `/api/task-types` lists it. */
export interface TaskTypeSummary {
  name: string;
  builtin: boolean;
}

/** A task type's limits; a missing field is no limit. */
export interface TypeLimitsView {
  concurrency?: number;
  ratePerSecond?: number;
  burst?: number;
}

/** A task type as `GET /api/task-types` gives it and the types page shows it. */
export interface TaskTypeView {
  name: string;
  builtin: boolean;
  /** The module's URL. */
  source: string;
  paused: boolean;
  /** The limits in force. */
  limits: TypeLimitsView;
  /** The module's own (`export const limits`). */
  moduleLimits: TypeLimitsView;
  /** Whether `limits` were set through the API. */
  limitsSet: boolean;
  /** What its workers may do: off, on, or the hosts, paths or names allowed, by kind. */
  permissions: Record<string, boolean | string[]>;
  /** Its tasks in the store by status. */
  counts: Record<string, number>;
  /** Run time of the attempts that ended in the last hour on this node, ms. */
  runMs: { count: number; p50: number; p95: number };
  /** Attempts that ended in the last hour on this node. */
  lastHour: { succeeded: number; failed: number; failureRate: number | null };
  lastError: { at: number; taskId: string; name: string; message: string } | null;
}

/** The control part of a type event (`type.paused`, `type.resumed`, `type.limits_changed`). */
export interface TypeControlView {
  type: string;
  paused: boolean;
  limits: TypeLimitsView;
  moduleLimits: TypeLimitsView;
  limitsSet: boolean;
}

/** The filter of the task table, as in the query string of `/tasks`. */
export interface TaskFilter {
  status?: string;
  type?: string;
  priority?: string;
  /** An id or the start of one. */
  id?: string;
  /** `priority` or `runTime`; absent for newest first. */
  sort?: string;
}

/**
 * A window of the service's history (`GET /api/history`): one column per
 * figure, one entry per step, oldest first.
 */
export interface HistoryWindow {
  /** Length of the window, seconds. */
  seconds: number;
  /** Length of one step, ms: 1,000 for windows up to 6 minutes, longer beyond. */
  stepMs: number;
  /** Start of each step, ms since epoch. */
  t: number[];
  /** Tasks finished per second, averaged over the step; `null` where nothing was sampled. */
  throughput: (number | null)[];
  /** Wait time percentiles of the tasks started in the step, ms; `null` when none started. */
  waitP50: (number | null)[];
  waitP95: (number | null)[];
  /** Run time percentiles of the tasks that finished in the step, ms; `null` when none did. */
  runP50: (number | null)[];
  runP95: (number | null)[];
  /** Most tasks queued during the step, per priority keyed "1".."10". */
  queued: Record<string, (number | null)[]>;
}
