/**
 * Shaping engine data for pages: only what the islands show goes into the
 * page's serialized props.
 *
 * @module
 */

import type { DashboardStats, TaskTypeSummary } from "../../islands/_shared/types.ts";

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
