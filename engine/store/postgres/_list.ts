/**
 * Private to the PostgreSQL store: the queries behind `list()` and
 * `countsByType()`.
 *
 * @module
 */

import { nextCursorOf, type StoreQuery, type TaskPage, type TaskSort } from "../../model/query.ts";
import { emptyCounts, type StatusCounts, type TaskStatus } from "../../model/task.ts";
import { type Row, rowToTask } from "./_rows.ts";

/** ORDER BY of each sort; ties newest first. Run time: the last finished run, unfinished last. */
const ORDER_SQL: Record<TaskSort, string> = {
  created: "id DESC",
  priority: "priority DESC, id DESC",
  runTime: "(finished_at - started_at) DESC NULLS LAST, id DESC",
};

/** The SQL of a page, the SQL that counts every match, their parameters, and the page. */
export function listSql(query: StoreQuery): {
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

/** Counts by type and status (a scan of the tasks table: for pages, not hot paths). */
export const COUNTS_BY_TYPE_SQL =
  "SELECT type, status, count(*)::int AS n FROM tasks GROUP BY type, status";

/** The rows of {@linkcode COUNTS_BY_TYPE_SQL} as counts per type. */
export function countsByTypeOf(rows: Row[]): Record<string, StatusCounts> {
  const byType: Record<string, StatusCounts> = {};
  for (const row of rows) {
    (byType[row.type as string] ??= emptyCounts())[row.status as TaskStatus] = Number(row.n);
  }
  return byType;
}
