/**
 * Private to the SQLite store: the queries over many tasks (a page of a
 * listing, counts by status and by type, a task's dependents, the unfinished
 * tasks at open) and pruning. Each runs inside the store's group-commit
 * transaction, or at once when nothing is queued.
 *
 * @module
 */

import type { SQLInputValue } from "node:sqlite";
import { nextCursorOf, type StoreQuery, type TaskPage, type TaskSort } from "../../model/query.ts";
import { emptyCounts, type StatusCounts, type Task, type TaskStatus } from "../../model/task.ts";
import type { PruneOptions } from "../store.ts";
import { type Prepare, rowToTask } from "./_rows.ts";

const FINISHED_SQL = "status IN ('succeeded', 'failed', 'cancelled')";

/** ORDER BY of each sort; ties newest first. Run time: the last finished run, unfinished last. */
const ORDER_SQL: Record<TaskSort, string> = {
  created: "id DESC",
  priority: "priority DESC, id DESC",
  runTime: "(finished_at - started_at) DESC NULLS LAST, id DESC",
};

/** The tasks a store reopened must resume: every one not ended, oldest first. */
export function unfinishedTasks(prepare: Prepare): Task[] {
  const rows = prepare(
    "SELECT * FROM tasks WHERE status IN ('blocked', 'scheduled', 'queued', 'running') ORDER BY id",
  ).all();
  return rows.map(rowToTask);
}

/** One page of tasks matching `query`, with the total when asked. */
export function listTasks(prepare: Prepare, query: StoreQuery): TaskPage {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  const addIn = (column: string, values: readonly (string | number)[] | undefined) => {
    if (!values || values.length === 0) return;
    where.push(`${column} IN (${values.map(() => "?").join(", ")})`);
    params.push(...values);
  };
  addIn("status", query.status);
  addIn("type", query.type);
  addIn("priority", query.priority);
  if (query.idRange !== undefined) {
    where.push("id BETWEEN ? AND ?");
    params.push(...query.idRange);
  }
  const filter = where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "";
  const filterParams = [...params];
  if (query.after !== undefined) {
    where.push("id < ?");
    params.push(query.after);
  }
  const limit = query.limit;
  params.push(limit + 1, query.offset ?? 0);
  const sql = `SELECT * FROM tasks${
    where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""
  } ORDER BY ${ORDER_SQL[query.sort ?? "created"]} LIMIT ? OFFSET ?`;
  const rows = prepare(sql).all(...params);
  const tasks = rows.slice(0, limit).map(rowToTask);
  const page: TaskPage = {
    tasks,
    nextCursor: nextCursorOf(query, tasks, rows.length > limit),
  };
  if (query.withTotal) {
    const counted = prepare(`SELECT count(*) AS n FROM tasks${filter}`)
      .get(...filterParams) as { n: number };
    page.total = counted.n;
  }
  return page;
}

/** The tasks that depend on task `id`, newest first, at most `limit`. */
export function dependentTasks(prepare: Prepare, id: string, limit: number): Task[] {
  return prepare(
    `SELECT t.* FROM task_edges e JOIN tasks t ON t.id = e.child WHERE e.parent = ?
    ORDER BY e.child DESC LIMIT ?`,
  ).all(id, limit).map(rowToTask);
}

/** Tasks per status, counted afresh (a scan: at open, and after a failed commit). */
export function countByStatus(prepare: Prepare): StatusCounts {
  const counts = emptyCounts();
  const rows = prepare("SELECT status, count(*) AS n FROM tasks GROUP BY status")
    .all() as { status: TaskStatus; n: number }[];
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/** Tasks per status of each type (a scan). */
export function countByType(prepare: Prepare): Record<string, StatusCounts> {
  const byType: Record<string, StatusCounts> = {};
  const rows = prepare(
    "SELECT type, status, count(*) AS n FROM tasks GROUP BY type, status",
  ).all() as { type: string; status: TaskStatus; n: number }[];
  for (const row of rows) (byType[row.type] ??= emptyCounts())[row.status] = row.n;
  return byType;
}

/** What a prune deleted: how many tasks, and the change to the counts per status. */
export interface Pruned {
  deleted: number;
  delta: StatusCounts;
}

/**
 * Deletes finished tasks that ended before `finishedBefore`, then the oldest
 * beyond `maxFinished` (`finished`: how many finished tasks the store holds
 * now), at most `batchSize` in all.
 */
// INDEXED BY: without statistics the planner prefers (status, id) and sorts
// every finished row; the partial index on finished_at reads just the oldest.
export function pruneFinished(prepare: Prepare, options: PruneOptions, finished: number): Pruned {
  const delta = emptyCounts();
  let budget = Math.max(0, Math.trunc(options.batchSize));
  if (budget === 0) return { deleted: 0, delta };
  const expired = prepare(`
    DELETE FROM tasks WHERE id IN (
      SELECT id FROM tasks INDEXED BY tasks_finished_at
      WHERE ${FINISHED_SQL} AND finished_at < ?
      ORDER BY finished_at LIMIT ?) RETURNING status`).all(options.finishedBefore, budget);
  for (const row of expired) delta[row.status as TaskStatus]--;
  budget -= expired.length;
  const remaining = finished + delta.succeeded + delta.failed + delta.cancelled;
  const excess = Math.min(remaining - Math.max(0, options.maxFinished), budget);
  let oldest: Record<string, unknown>[] = [];
  if (excess > 0) {
    oldest = prepare(`
      DELETE FROM tasks WHERE id IN (
        SELECT id FROM tasks INDEXED BY tasks_finished_at
        WHERE ${FINISHED_SQL} AND finished_at IS NOT NULL
        ORDER BY finished_at LIMIT ?) RETURNING status`).all(excess);
    for (const row of oldest) delta[row.status as TaskStatus]--;
  }
  return { deleted: expired.length + oldest.length, delta };
}
