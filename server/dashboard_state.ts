/**
 * What the dashboard's pages read on the server: the engine operations they
 * call, the history they chart, and the shaping of engine data into the small
 * props the islands receive.
 *
 * @module
 */

import type { Schedule, TaskPage, TaskQuery } from "../engine/mod.ts";
import type { TaskTypeSource } from "./task_type_json.ts";
import type { HistoryWindow } from "../components/types.ts";
import type { DashboardStats, Task, TaskTypeSummary, WorkerInfo } from "../components/types.ts";

/** What the dashboard reads from the engine; a `ThreadFlow` satisfies it. */
export interface DashboardEngine extends TaskTypeSource {
  readonly nodeId: string;
  stats(): Promise<DashboardStats>;
  list(query: TaskQuery): Promise<TaskPage>;
  get(id: string): Promise<Task | undefined>;
  dependents(id: string, options?: { limit?: number }): Promise<Task[]>;
  workers(): WorkerInfo[];
  /** The schedules, for the schedules page. */
  readonly schedules: { list(): Promise<Schedule[]> };
}

/** What the dashboard's history gives pages: a window of samples and each worker's load. */
export interface DashboardHistory {
  /** The last `seconds` of history (300 or 3600); with `since`, the steps after it only. */
  window(seconds: number, options?: { since?: number }): HistoryWindow;
  /** Share of the last minute each worker of this node spent running tasks, 0–1, by slot id. */
  workerLoad(): Record<string, number>;
}

/** The dashboard's state, handed to every route handler and to the page shell. */
export interface DashboardState {
  engine: DashboardEngine;
  history: DashboardHistory;
  /** The service runs without `--token`: anyone who reaches it may act. */
  authOff: boolean;
}

/**
 * The fields of a stats snapshot the dashboard shows (histograms and
 * per-priority latencies stay on the server).
 *
 * @example
 * ```ts ignore
 * const props = dashboardStats(await tf.stats());
 * ```
 */
export function dashboardStats(stats: DashboardStats): DashboardStats {
  return {
    nodeId: stats.nodeId,
    store: stats.store,
    state: stats.state,
    uptimeMs: stats.uptimeMs,
    counts: { ...stats.counts },
    queuedByPriority: { ...stats.queuedByPriority },
    oldestQueuedAgeMs: { ...stats.oldestQueuedAgeMs },
    throughput: {
      perSecond: [...stats.throughput.perSecond],
      last60s: stats.throughput.last60s,
    },
    waitMs: { ...stats.waitMs },
    runMs: { ...stats.runMs },
    workers: { ...stats.workers },
  };
}

/**
 * Task types as the submit form lists them, sorted by name.
 *
 * @example
 * ```ts ignore
 * typeSummaries(tf.taskTypes()); // [{ name: "fib", builtin: true }, …]
 * ```
 */
export function typeSummaries(types: TaskTypeSummary[]): TaskTypeSummary[] {
  return types.map(({ name, builtin }) => ({ name, builtin }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
