/**
 * The seam between the engine and where task records live.
 *
 * A *local* store (memory, SQLite) is owned by one process: the engine keeps
 * the queue in memory and writes every transition through, batched per
 * event-loop turn (group commit). A *shared* store (PostgreSQL) is used by
 * several nodes at once: the queue lives in the store and nodes claim work
 * from it atomically under a lease (`shared_store.ts`).
 *
 * Stores only record: every status change is decided by the engine's state
 * machine, or, for the few changes a shared store makes in SQL, passed
 * through it afterwards.
 *
 * @module
 */

import type { StoreQuery, TaskPage } from "../model/query.ts";
import type { StatusCounts, Task } from "../model/task.ts";
import type { StoredTypeControl, TypeControlChange } from "../model/type_controls.ts";
import type { ScheduleAdvance, ScheduleUpdate, StoredSchedule } from "../model/schedule.ts";

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
   * `true` when the store keeps the very task objects it is given (the memory
   * store): the engine's changes are in it at once, so `write` is called only
   * for tasks that reached a terminal status, once per end (a task that ends,
   * is retried and ends again within one turn comes twice). Default `false`.
   */
  readonly keepsTaskObjects?: boolean;
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
   * progress, result, error, timestamps, worker, attempt history). Called once per event-loop
   * turn with everything that changed in it; resolves once durable. A task's id, type,
   * payload, priority, creation time and idempotency key never change after insert: a store
   * need not write them again.
   */
  write(tasks: Task[]): Promise<void>;
  /** The task with this id, or `undefined`. */
  get(id: string): Promise<Task | undefined>;
  /** The tasks with these ids that exist, in no particular order. */
  getMany(ids: string[]): Promise<Task[]>;
  /** Tasks that depend on `id` (its children), newest first, at most `limit`. */
  dependents(id: string, limit: number): Promise<Task[]>;
  /** The task with this idempotency key, or `undefined`. */
  getByIdempotencyKey(key: string): Promise<Task | undefined>;
  /**
   * Tasks matching the query (checked by the engine), in its order, with the
   * total matching when asked.
   */
  list(query: StoreQuery): Promise<TaskPage>;
  /** How many tasks are in each status. */
  counts(): Promise<StatusCounts>;
  /**
   * How many tasks of each type are in each status (types without tasks are
   * absent). Reads every task's type and status: for pages, not hot paths.
   */
  countsByType(): Promise<Record<string, StatusCounts>>;
  /** Every task type's saved control (paused, limits set through the API). */
  typeControls(): Promise<StoredTypeControl[]>;
  /** Saves a change to a type's control and returns the control as saved. */
  saveTypeControl(type: string, change: TypeControlChange): Promise<StoredTypeControl>;
  /** Every schedule, by name. */
  schedules(): Promise<StoredSchedule[]>;
  /** The schedule named `name`, or `undefined`. */
  getSchedule(name: string): Promise<StoredSchedule | undefined>;
  /** Saves a new schedule; `false` (nothing saved) when the name is taken. */
  insertSchedule(schedule: StoredSchedule): Promise<boolean>;
  /**
   * Changes a schedule's definition (and `nextRunAt` when given; its fire
   * record stays); returns it as saved, or `undefined` when there is none.
   */
  updateSchedule(name: string, update: ScheduleUpdate): Promise<StoredSchedule | undefined>;
  /** Deletes a schedule; `false` when there was none. */
  deleteSchedule(name: string): Promise<boolean>;
  /**
   * Takes due schedules to fire (not paused, `nextRunAt` ≤ `now`, no lease
   * in force): leases each to `owner` until `now +
   * leaseMs`, atomically, so no two owners fire one at once. At most `limit`,
   * earliest due first.
   */
  claimDueSchedules(
    now: number,
    owner: string,
    leaseMs: number,
    limit: number,
  ): Promise<StoredSchedule[]>;
  /**
   * Records a claimed schedule's fire and frees its lease, only while its
   * `nextRunAt` is still `expectedNextRunAt` (a change made meanwhile wins);
   * returns whether it was recorded.
   */
  advanceSchedule(
    name: string,
    expectedNextRunAt: number,
    advance: ScheduleAdvance,
  ): Promise<boolean>;
  /**
   * When the next schedule may be claimed: the earliest `nextRunAt` (or the
   * end of its lease, when later) of a schedule that is not paused; `null` when none.
   */
  nextScheduleAt(): Promise<number | null>;
  /** Deletes finished tasks past retention; returns how many were deleted. */
  prune(options: PruneOptions): Promise<number>;
  /** Releases the store. Writes already called are completed first. */
  close(): Promise<void>;
}
