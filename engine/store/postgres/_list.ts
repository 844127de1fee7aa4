/**
 * Private to the PostgreSQL store: the query behind `list()`.
 *
 * @module
 */

import { encodeCursor, type StoreQuery, type TaskPage } from "../../model/query.ts";
import { type Row, rowToTask } from "./_rows.ts";

/** The SQL, its parameters, and how to turn its rows into a page. */
export function listSql(
  query: StoreQuery,
): { text: string; params: unknown[]; page: (rows: Row[]) => TaskPage } {
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
  if (query.after !== undefined) {
    params.push(query.after);
    where.push(`id < $${params.length}::uuid`);
  }
  const limit = query.limit;
  params.push(limit + 1);
  const text = `SELECT * FROM tasks${where.length ? ` WHERE ${where.join(" AND ")}` : ""}
    ORDER BY id DESC LIMIT $${params.length}::int`;
  const page = (rows: Row[]): TaskPage => {
    const tasks = rows.slice(0, limit).map(rowToTask);
    const more = rows.length > limit;
    return { tasks, nextCursor: more ? encodeCursor(tasks[tasks.length - 1].id) : null };
  };
  return { text, params, page };
}
