/**
 * Browser side: acting on every task that matches a filter. The matching
 * tasks are collected first (page by page), so the confirm can say how many
 * and the action covers exactly those.
 *
 * @module
 */

import { api } from "./api.ts";
import { taskQuery } from "./task_list.ts";
import type { Task, TaskFilter } from "../../components/types.ts";

/** Tasks are listed this many a page while collecting. */
export const BULK_PAGE = 1000;
/** Requests in flight at once while acting. */
export const BULK_PARALLEL = 16;

/**
 * The ids of the tasks matching `filter` whose status is in `statuses`.
 * `onProgress` hears the count after each page.
 *
 * @example
 * ```ts ignore
 * const ids = await collectMatching({ type: "fib" }, new Set(["failed"]));
 * ```
 */
export async function collectMatching(
  filter: TaskFilter,
  statuses: ReadonlySet<string>,
  onProgress: (count: number) => void = () => {},
): Promise<string[]> {
  const wanted = filter.status ? [filter.status].filter((s) => statuses.has(s)) : [...statuses];
  // Newest first pages by id: stable while tasks change status under the walk.
  const { sort: _sort, ...matching } = filter;
  const ids: string[] = [];
  for (const status of wanted) {
    let cursor: string | null = null;
    do {
      const page: { tasks: Task[]; nextCursor: string | null } = await api(
        `/api/tasks?${taskQuery({ ...matching, status }, BULK_PAGE, cursor)}`,
      );
      for (const task of page.tasks) ids.push(task.id);
      cursor = page.nextCursor;
      onProgress(ids.length);
    } while (cursor);
  }
  return ids;
}

/**
 * Runs `action` on every id, {@linkcode BULK_PARALLEL} at a time; counts
 * what worked and what was refused (a task that finished meanwhile).
 *
 * @example
 * ```ts ignore
 * const { done, failed } = await runInBatches(ids, cancelTask);
 * ```
 */
export async function runInBatches(
  ids: string[],
  action: (id: string) => Promise<unknown>,
  onProgress: (done: number, failed: number) => void = () => {},
): Promise<{ done: number; failed: number }> {
  let done = 0;
  let failed = 0;
  let next = 0;
  async function lane(): Promise<void> {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        await action(id);
        done++;
      } catch {
        failed++;
      }
      if ((done + failed) % 100 === 0) onProgress(done, failed);
    }
  }
  await Promise.all(Array.from({ length: Math.min(BULK_PARALLEL, ids.length) }, lane));
  return { done, failed };
}

/**
 * A filter in words, for confirms and captions.
 *
 * @example
 * ```ts ignore
 * describeFilter({ status: "failed", type: "fib" }); // "status failed, type fib"
 * ```
 */
export function describeFilter(filter: TaskFilter): string {
  const parts = [
    filter.status && `status ${filter.status}`,
    filter.type && `type ${filter.type}`,
    filter.priority && `priority ${filter.priority}`,
    filter.id && `id starting ${filter.id}`,
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "no filter (all tasks)";
}
