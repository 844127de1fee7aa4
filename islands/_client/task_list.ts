/**
 * Browser side: keeping a list of tasks current from task events.
 *
 * @module
 */

import type { Task, TaskEvent, TaskFilter } from "../../components/types.ts";

/** Options of {@linkcode applyTaskEvents}. */
export interface ApplyOptions {
  /** Whether a new task belongs in the list (e.g. it matches the filter). */
  accepts: (task: Task) => boolean;
  /** Add new tasks at the top (the first page); otherwise only update rows shown. */
  prepend: boolean;
  /** Most rows kept. */
  limit: number;
}

/**
 * The rows after a frame's events. Rows shown take the newest snapshot and
 * leave when they stop matching. On the first page (`prepend`), a matching
 * task not shown joins in id order (ids sort by creation time, newest first)
 * when it is newer than the last row or the page has room. Returns `rows`
 * itself when nothing changed, so a view can skip its render.
 *
 * @example
 * ```ts ignore
 * rows = applyTaskEvents(rows, events, { accepts: () => true, prepend: true, limit: 50 });
 * ```
 */
export function applyTaskEvents(rows: Task[], events: TaskEvent[], options: ApplyOptions): Task[] {
  if (events.length === 0) return rows;
  const index = new Map(rows.map((task, i) => [task.id, i]));
  let next: Task[] | null = null;
  let added = false;
  const oldest = rows.at(-1)?.id;
  for (const event of events) {
    const task = event.task;
    const at = index.get(task.id);
    if (at !== undefined) {
      next ??= rows.slice();
      next[at] = task;
    } else if (
      options.prepend && options.accepts(task) &&
      (rows.length < options.limit || oldest === undefined || task.id > oldest)
    ) {
      next ??= rows.slice();
      index.set(task.id, next.push(task) - 1);
      added = true;
    }
  }
  if (!next) return rows;
  let result = next.filter((task) => options.accepts(task));
  if (added) result.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  if (result.length > options.limit) result = result.slice(0, options.limit);
  return result;
}

/**
 * Whether `task` matches the table's filter.
 *
 * @example
 * ```ts ignore
 * matchesFilter(task, { status: "running" });
 * ```
 */
export function matchesFilter(task: Task, filter: TaskFilter): boolean {
  if (filter.status && task.status !== filter.status) return false;
  if (filter.type && task.type !== filter.type) return false;
  if (filter.priority && String(task.priority) !== filter.priority) return false;
  if (filter.id && !task.id.startsWith(filter.id.toLowerCase())) return false;
  return true;
}

/**
 * The query string of `/api/tasks` for a filter, page size and cursor.
 *
 * @example
 * ```ts ignore
 * taskQuery({ status: "failed" }, 50); // "status=failed&limit=50"
 * ```
 */
export function taskQuery(filter: TaskFilter, limit: number, cursor?: string | null): string {
  const params = new URLSearchParams();
  if (filter.status) params.set("status", filter.status);
  if (filter.type) params.set("type", filter.type);
  if (filter.priority) params.set("priority", filter.priority);
  if (filter.id) params.set("id", filter.id);
  if (filter.sort) params.set("sort", filter.sort);
  params.set("limit", String(limit));
  if (cursor) params.set("cursor", cursor);
  return params.toString();
}
