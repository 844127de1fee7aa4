/**
 * Types the dashboard shares between server and browser. Type-only imports
 * from the engine: nothing here reaches a bundle.
 *
 * @module
 */

export type {
  LatencySummary,
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

/** The filter of the task table, as in the query string of `/tasks`. */
export interface TaskFilter {
  status?: string;
  type?: string;
  priority?: string;
}
