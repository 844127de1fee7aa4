/**
 * Listing tasks: the query a caller gives (one value or a list per filter),
 * the normalized form every store reads, and the opaque page cursor.
 *
 * @module
 */

import { ValidationError } from "./errors.ts";
import { idPrefixRange } from "./id.ts";
import { MAX_PRIORITY, MIN_PRIORITY, pageSize } from "./limits.ts";
import { type Task, TASK_STATUSES, type TaskStatus } from "./task.ts";

/**
 * Filter and page for listing tasks. Each filter takes one value or a list
 * (any of them matches); filters combine with AND.
 *
 * @example
 * ```ts
 * import type { TaskQuery } from "./mod.ts";
 * const failedFibs: TaskQuery = { status: "failed", type: ["fib"], limit: 20 };
 * ```
 */
export interface TaskQuery {
  status?: TaskStatus | readonly TaskStatus[];
  type?: string | readonly string[];
  priority?: number | readonly number[];
  /** Tasks whose id starts with this (a whole id finds that task); hex digits and dashes. */
  idPrefix?: string;
  /**
   * Order of the page: `created` (default, newest first), `priority` (most
   * urgent first, then newest) or `runTime` (longest last run first, then
   * newest; tasks that have not finished a run come last).
   */
  sort?: TaskSort;
  /** Also count every matching task (`total` in the answer); default `false`. */
  withTotal?: boolean;
  /** Page size; default 50, at most 1000. */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor` (of the same sort). */
  cursor?: string;
}

/** Orders a list can come in: see {@linkcode TaskQuery.sort}. */
export type TaskSort = "created" | "priority" | "runTime";

/** Every {@linkcode TaskSort}. */
export const TASK_SORTS: readonly TaskSort[] = ["created", "priority", "runTime"];

/** One page of tasks in the order asked for, and the cursor of the next page (`null` at the end). */
export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
  /** How many tasks match the filter in all, when asked for with `withTotal`. */
  total?: number;
}

/** A {@linkcode TaskQuery} after {@linkcode normalizeQuery}: lists, a page size, a checked cursor. */
export interface StoreQuery {
  status?: TaskStatus[];
  type?: string[];
  priority?: number[];
  /** Lowest and highest id of the prefix asked for (both inclusive). */
  idRange?: [string, string];
  /** Order of the page; default `created`. */
  sort?: TaskSort;
  /** Whether to count every match; default `false`. */
  withTotal?: boolean;
  /** 1 to 1000. */
  limit: number;
  /** With sort `created`: the id after which (in newest-first order) the page starts. */
  after?: string;
  /** With another sort: how many matching tasks earlier pages held. */
  offset?: number;
}

const STATUSES = new Set<string>(TASK_STATUSES);

/**
 * Checks a caller's query and gives the form stores read. Throws
 * {@linkcode ValidationError} naming the field for an unknown status, a
 * priority outside 1–10, a type that is not a string, or a malformed cursor.
 *
 * @example
 * ```ts
 * import { normalizeQuery } from "./engine/model/query.ts";
 * normalizeQuery({ status: "failed" }); // { status: ["failed"], limit: 50 }
 * ```
 */
export function normalizeQuery(query: TaskQuery = {}): StoreQuery {
  if (typeof query !== "object" || query === null) {
    throw new ValidationError("A task query must be an object.", "query");
  }
  const sort = query.sort ?? "created";
  if (!TASK_SORTS.includes(sort)) {
    throw new ValidationError(
      `Field sort must be one of ${TASK_SORTS.join(", ")}: received ${JSON.stringify(sort)}.`,
      "sort",
    );
  }
  const normalized: StoreQuery = {
    limit: pageSize(query.limit),
    sort,
    withTotal: query.withTotal === true,
  };
  if (query.idPrefix !== undefined && query.idPrefix !== "") {
    const range = typeof query.idPrefix === "string" ? idPrefixRange(query.idPrefix) : undefined;
    if (range === undefined) {
      throw new ValidationError(
        `Field idPrefix must be the start of a task id (hex digits, dashes where an id has them): received ${
          JSON.stringify(query.idPrefix)
        }.`,
        "idPrefix",
      );
    }
    normalized.idRange = range;
  }
  const status = listOf(query.status, "status");
  if (status !== undefined) {
    for (const value of status) {
      if (typeof value !== "string" || !STATUSES.has(value)) {
        throw new ValidationError(
          `Field status must be one of ${TASK_STATUSES.join(", ")}: received ${
            JSON.stringify(value)
          }.`,
          "status",
        );
      }
    }
    normalized.status = status as TaskStatus[];
  }
  const type = listOf(query.type, "type");
  if (type !== undefined) {
    if (type.some((value) => typeof value !== "string")) {
      throw new ValidationError("Field type must be a task type name or a list of them.", "type");
    }
    normalized.type = type as string[];
  }
  const priority = listOf(query.priority, "priority");
  if (priority !== undefined) {
    for (const value of priority) {
      if (
        typeof value !== "number" || !Number.isInteger(value) || value < MIN_PRIORITY ||
        value > MAX_PRIORITY
      ) {
        throw new ValidationError(
          `Field priority must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}: received ${
            JSON.stringify(value)
          }.`,
          "priority",
        );
      }
    }
    normalized.priority = priority as number[];
  }
  if (query.cursor !== undefined) {
    const cursor = typeof query.cursor === "string" ? query.cursor : "";
    const after = sort === "created" ? decodeCursor(cursor) : undefined;
    const offset = sort === "created" ? undefined : decodeOffsetCursor(cursor);
    if (after === undefined && offset === undefined) {
      // Not echoed: a cursor pasted from elsewhere may hold anything, a secret included.
      throw new ValidationError(
        "Cursor must be the nextCursor of a previous page with the same sort.",
        "cursor",
      );
    }
    if (after !== undefined) normalized.after = after;
    if (offset !== undefined) normalized.offset = offset;
  }
  return normalized;
}

/** `value` as a list (`undefined` and an empty list mean "no filter"). */
function listOf(value: unknown, field: string): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (list.length > 1000) {
    throw new ValidationError(`Field ${field} may list at most 1000 values.`, field);
  }
  return list.length === 0 ? undefined : list;
}

/** Encodes a page cursor from the last task of a page (newest-first order by id). */
export function encodeCursor(lastId: string): string {
  return btoa(lastId).replaceAll("=", "");
}

/**
 * The cursor of the page after `tasks` for `query`: the last id when sorted
 * by creation (stable while tasks come and go), else the count of tasks
 * before the next page.
 */
export function nextCursorOf(query: StoreQuery, tasks: Task[], more: boolean): string | null {
  if (!more || tasks.length === 0) return null;
  if ((query.sort ?? "created") === "created") return encodeCursor(tasks[tasks.length - 1].id);
  return btoa(`o:${(query.offset ?? 0) + tasks.length}`).replaceAll("=", "");
}

/** Decodes an offset cursor made by {@linkcode nextCursorOf}; `undefined` when malformed. */
function decodeOffsetCursor(cursor: string): number | undefined {
  try {
    const match = /^o:(\d{1,9})$/.exec(atob(cursor));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * Orders tasks as `sort` asks (stores without SQL use it): ties go newest first.
 *
 * @example
 * ```ts ignore
 * tasks.sort(compareBy("priority"));
 * ```
 */
export function compareBy(sort: TaskSort): (a: Task, b: Task) => number {
  const newest = (a: Task, b: Task) => a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  if (sort === "priority") return (a, b) => b.priority - a.priority || newest(a, b);
  if (sort === "runTime") {
    return (a, b) => {
      const x = runTimeOf(a);
      const y = runTimeOf(b);
      if (x === y) return newest(a, b);
      if (x === null) return 1;
      if (y === null) return -1;
      return y - x;
    };
  }
  return newest;
}

/** The run time of a task's last finished run, ms, or `null` (SQL: `finished_at - started_at`). */
export function runTimeOf(task: Task): number | null {
  return task.startedAt === null || task.finishedAt === null
    ? null
    : task.finishedAt - task.startedAt;
}

/** Decodes a cursor made by {@linkcode encodeCursor}; `undefined` when malformed. */
export function decodeCursor(cursor: string): string | undefined {
  try {
    const id = atob(cursor);
    return /^[0-9a-f-]{36}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
