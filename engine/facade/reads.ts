/**
 * The facade's answers gathered from several parts: a page of tasks with its
 * total (taken from the counts when they can answer it), and the engine's
 * figures (`tf.stats()`).
 *
 * @module
 */

import { normalizeQuery, type TaskPage, type TaskQuery } from "../model/query.ts";
import { TASK_STATUSES } from "../model/task.ts";
import type { TaskStore } from "../store/store.ts";
import type { EngineParts, EngineState } from "./engine_parts.ts";
import { type EngineStats, workerTotals } from "./stats.ts";

/**
 * A page of tasks for `query`, with the total matching when asked. Filtered
 * by status alone (or not at all), the counts of `stats()` answer the total
 * (this node's on a local store, the counter tables on PostgreSQL): nothing
 * counts the tasks.
 *
 * @example
 * ```ts ignore
 * const page = await listTasks(parts, store, { status: "failed", withTotal: true });
 * ```
 */
export async function listTasks(
  parts: EngineParts,
  store: TaskStore,
  query: TaskQuery,
): Promise<TaskPage> {
  const normalized = normalizeQuery(query);
  const byCounts = normalized.withTotal === true && normalized.type === undefined &&
    normalized.priority === undefined && normalized.idRange === undefined;
  const [page, counts] = await Promise.all([
    store.list(byCounts ? { ...normalized, withTotal: false } : normalized),
    byCounts ? parts.source.counts(parts.lifecycle.counts) : undefined,
  ]);
  const answer: TaskPage = {
    tasks: page.tasks.map((task) => ({ ...task })),
    nextCursor: page.nextCursor,
  };
  if (counts !== undefined) {
    const statuses = new Set(normalized.status ?? TASK_STATUSES);
    answer.total = [...statuses].reduce((sum, status) => sum + counts[status], 0);
  } else if (page.total !== undefined) {
    answer.total = page.total;
  }
  return answer;
}

/** Who the engine is, for its figures. */
export interface EngineIdentity {
  nodeId: string;
  store: TaskStore;
  /** Its state when the figures are gathered. */
  state(): EngineState;
  /** When it started, ms since the epoch. */
  startedAt: number;
}

/**
 * Counts, queue depth, latencies, throughput and worker totals.
 *
 * @example
 * ```ts ignore
 * const stats = await engineStats(parts, { nodeId, store, state: () => "running", startedAt });
 * ```
 */
export async function engineStats(
  parts: EngineParts,
  identity: EngineIdentity,
): Promise<EngineStats> {
  const { source, lifecycle, pool, stats } = parts;
  const counts = await source.counts(lifecycle.counts);
  const depth = await source.depth(pool.pendingDepth());
  const now = Date.now();
  const oldestQueuedAgeMs: Record<string, number | null> = {};
  for (const [level, at] of Object.entries(depth.oldestQueuedAt)) {
    oldestQueuedAgeMs[level] = at === null ? null : Math.max(0, now - at);
  }
  return {
    nodeId: identity.nodeId,
    store: identity.store.name,
    state: identity.state(),
    uptimeMs: now - identity.startedAt,
    counts,
    queuedByPriority: depth.queuedByPriority,
    oldestQueuedAgeMs,
    throughput: stats.throughput(now),
    waitMs: stats.wait.summary(),
    runMs: stats.run.summary(),
    waitMsByPriority: stats.waitSummaries(),
    histograms: { waitMs: stats.wait.snapshot(), runMs: stats.run.snapshot() },
    workers: workerTotals(pool.info()),
  };
}
