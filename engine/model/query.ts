/**
 * Listing tasks: the query a caller gives (one value or a list per filter),
 * the normalized form every store reads, and the opaque page cursor.
 *
 * @module
 */

import { ValidationError } from "./errors.ts";
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
  /** Page size; default 50, at most 1000. */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

/** One page of tasks, newest first, and the cursor of the next page (`null` at the end). */
export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
}

/** A {@linkcode TaskQuery} after {@linkcode normalizeQuery}: lists, a page size, a checked cursor. */
export interface StoreQuery {
  status?: TaskStatus[];
  type?: string[];
  priority?: number[];
  /** 1 to 1000. */
  limit: number;
  /** The id after which (in newest-first order) the page starts. */
  after?: string;
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
  const normalized: StoreQuery = { limit: pageSize(query.limit) };
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
    const after = typeof query.cursor === "string" ? decodeCursor(query.cursor) : undefined;
    if (after === undefined) {
      throw new ValidationError(
        `Cursor must be a value returned as nextCursor: received ${JSON.stringify(query.cursor)}.`,
        "cursor",
      );
    }
    normalized.after = after;
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

/** Decodes a cursor made by {@linkcode encodeCursor}; `undefined` when malformed. */
export function decodeCursor(cursor: string): string | undefined {
  try {
    const id = atob(cursor);
    return /^[0-9a-f-]{36}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
