/**
 * The seam between the engine and where task records live.
 *
 * A *local* store (memory, SQLite) is owned by one process: the engine keeps
 * the queue in memory and writes every transition through, batched per
 * event-loop turn (group commit). A *shared* store (PostgreSQL) is used by
 * several nodes at once: the queue lives in the store and nodes claim work
 * from it atomically under a lease.
 *
 * @module
 */

import type { Task, TaskStatus } from "../model/task.ts";

/** Count of tasks in each status. */
export type StatusCounts = Record<TaskStatus, number>;

/** Filter and page for {@linkcode TaskStore.list}. */
export interface TaskQuery {
  status?: TaskStatus[];
  type?: string[];
  priority?: number[];
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

/** Result of inserting one task: the stored task and whether it is new. */
export interface InsertOutcome {
  task: Task;
  /** `false` when a task with the same idempotency key existed; `task` is that one. */
  created: boolean;
}

/** Options for {@linkcode TaskStore.prune}. */
export interface PruneOptions {
  /** Delete finished tasks that finished before this time (ms since epoch). */
  finishedBefore: number;
  /** Keep at most this many finished tasks. */
  maxFinished: number;
  /** Delete at most this many rows in this call. */
  batchSize: number;
}

/**
 * Where task records live.
 *
 * Every method may be called before the previous one's promise settles; a
 * store orders writes in call order.
 */
export interface TaskStore {
  /** `local`: one process owns it; `shared`: several nodes claim from it. */
  readonly kind: "local" | "shared";
  /** Short name for logs and `/api/stats`, e.g. `memory`, `sqlite:./data/threadflow.db`. */
  readonly name: string;
  /**
   * Opens the store (creating and migrating its schema) and returns the tasks
   * that are not finished (scheduled, queued, or running when the last process
   * stopped), oldest first, so a local engine can rebuild its queue.
   */
  open(): Promise<Task[]>;
  /**
   * Inserts new tasks in one transaction, all or none. A task whose
   * `idempotencyKey` already exists is not inserted; its outcome carries the
   * existing task with `created: false`.
   */
  insert(tasks: Task[]): Promise<InsertOutcome[]>;
  /**
   * Records the current state of tasks that changed (status, attempts,
   * progress, result, error, timestamps, worker). Called once per event-loop
   * turn with everything that changed in it; resolves once durable.
   */
  write(tasks: Task[]): Promise<void>;
  /** The task with this id, or `undefined`. */
  get(id: string): Promise<Task | undefined>;
  /** The task with this idempotency key, or `undefined`. */
  getByIdempotencyKey(key: string): Promise<Task | undefined>;
  /** Tasks matching the query, newest first. */
  list(query: TaskQuery): Promise<TaskPage>;
  /** How many tasks are in each status. */
  counts(): Promise<StatusCounts>;
  /** Deletes finished tasks past retention; returns how many were deleted. */
  prune(options: PruneOptions): Promise<number>;
  /** Releases the store. Writes already called are completed first. */
  close(): Promise<void>;
}

/** Zeroed counts, to start from. */
export function emptyCounts(): StatusCounts {
  return { scheduled: 0, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
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
