/**
 * Private to the PostgreSQL store: the queries that read tasks (by id, by
 * idempotency key, a task's dependents, a page of a listing, counts by type).
 * Each runs on the pool, or inside a pending batch so that it sees the writes
 * called before it.
 *
 * @module
 */

import { nextCursorOf, type StoreQuery, type TaskPage, type TaskSort } from "../../model/query.ts";
import { emptyCounts, type StatusCounts, type Task, type TaskStatus } from "../../model/task.ts";
import type { UnsafeQueryable } from "./migrations.ts";
import { type Row, rowToTask } from "./_rows.ts";

/** ORDER BY of each sort; ties newest first. Run time: the last finished run, unfinished last. */
const ORDER_SQL: Record<TaskSort, string> = {
  created: "id DESC",
  priority: "priority DESC, id DESC",
  runTime: "(finished_at - started_at) DESC NULLS LAST, id DESC",
};

/** The task with this id (a valid UUID), or `undefined`. */
export async function getTask(sql: UnsafeQueryable, id: string): Promise<Task | undefined> {
  const [row] = await sql.unsafe("SELECT * FROM tasks WHERE id = $1::uuid", [id]);
  return row ? rowToTask(row) : undefined;
}

/** The tasks with these ids (valid UUIDs) that exist. */
export async function getTasks(sql: UnsafeQueryable, ids: string[]): Promise<Task[]> {
  const rows = await sql.unsafe("SELECT * FROM tasks WHERE id = ANY($1::uuid[])", [ids]);
  return rows.map(rowToTask);
}

/** The task submitted with this idempotency key, or `undefined`. */
export async function taskByIdempotencyKey(
  sql: UnsafeQueryable,
  key: string,
): Promise<Task | undefined> {
  const [row] = await sql.unsafe("SELECT * FROM tasks WHERE idempotency_key = $1::text", [key]);
  return row ? rowToTask(row) : undefined;
}

/** The tasks that depend on task `id` (a valid UUID), newest first, at most `limit`. */
export async function dependentTasks(
  sql: UnsafeQueryable,
  id: string,
  limit: number,
): Promise<Task[]> {
  const rows = await sql.unsafe(
    `SELECT * FROM tasks WHERE depends_on @> ARRAY[$1::uuid] ORDER BY id DESC LIMIT $2::int`,
    [id, limit],
  );
  return rows.map(rowToTask);
}

/** One page of tasks matching `query`, with the total when asked. */
export async function listTasks(sql: UnsafeQueryable, query: StoreQuery): Promise<TaskPage> {
  const { text, params, countText, countParams, page } = listSql(query);
  const rows = await sql.unsafe(text, params);
  if (!query.withTotal) return page(rows);
  const [counted] = await sql.unsafe(countText, countParams);
  return page(rows, Number(counted.n));
}

/** Tasks per status of each type (a scan of the tasks table: for pages, not hot paths). */
export async function countsByType(sql: UnsafeQueryable): Promise<Record<string, StatusCounts>> {
  return countsByTypeOf(await sql.unsafe(COUNTS_BY_TYPE_SQL));
}

/** The SQL of a page, the SQL that counts every match, their parameters, and the page. */
function listSql(query: StoreQuery): {
  text: string;
  params: unknown[];
  countText: string;
  countParams: unknown[];
  page: (rows: Row[], total?: number) => TaskPage;
} {
  const where: string[] = [];
  const params: unknown[] = [];
  const addAny = (column: string, type: string, values: readonly unknown[] | undefined) => {
    if (!values || values.length === 0) return;
    params.push(values);
    where.push(`${column} = ANY($${params.length}::${type}[])`);
  };
  addAny("status", "text", query.status);
  addAny("type", "text", query.type);
  addAny("priority", "smallint", query.priority);
  if (query.idRange !== undefined) {
    params.push(query.idRange[0], query.idRange[1]);
    where.push(`id BETWEEN $${params.length - 1}::uuid AND $${params.length}::uuid`);
  }
  const countText = `SELECT count(*)::bigint AS n FROM tasks${
    where.length ? ` WHERE ${where.join(" AND ")}` : ""
  }`;
  const countParams = [...params];
  if (query.after !== undefined) {
    params.push(query.after);
    where.push(`id < $${params.length}::uuid`);
  }
  const limit = query.limit;
  params.push(limit + 1, query.offset ?? 0);
  const text = `SELECT * FROM tasks${where.length ? ` WHERE ${where.join(" AND ")}` : ""}
    ORDER BY ${ORDER_SQL[query.sort ?? "created"]} LIMIT $${params.length - 1}::int
    OFFSET $${params.length}::int`;
  const page = (rows: Row[], total?: number): TaskPage => {
    const tasks = rows.slice(0, limit).map(rowToTask);
    const answer: TaskPage = { tasks, nextCursor: nextCursorOf(query, tasks, rows.length > limit) };
    if (total !== undefined) answer.total = total;
    return answer;
  };
  return { text, params, countText, countParams, page };
}

/** Counts by type and status. */
const COUNTS_BY_TYPE_SQL =
  "SELECT type, status, count(*)::int AS n FROM tasks GROUP BY type, status";

/** The rows of {@linkcode COUNTS_BY_TYPE_SQL} as counts per type. */
function countsByTypeOf(rows: Row[]): Record<string, StatusCounts> {
  const byType: Record<string, StatusCounts> = {};
  for (const row of rows) {
    (byType[row.type as string] ??= emptyCounts())[row.status as TaskStatus] = Number(row.n);
  }
  return byType;
}
