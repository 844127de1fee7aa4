/**
 * The in-memory store: for tests, benchmarks, embedding and `--store memory`.
 * Nothing survives the process.
 *
 * @module
 */

import { isTerminal, type Task } from "../task.ts";
import {
  decodeCursor,
  emptyCounts,
  encodeCursor,
  type InsertOutcome,
  type PruneOptions,
  type StatusCounts,
  type TaskPage,
  type TaskQuery,
  type TaskStore,
} from "./store.ts";

/**
 * Keeps tasks in a `Map`. The engine hands it the same task objects it
 * mutates, so `write()` only has to maintain the finished-task order used by
 * retention.
 *
 * @example
 * ```ts
 * import { MemoryStore, ThreadFlow } from "./mod.ts";
 * const tf = await ThreadFlow.start({ store: new MemoryStore() });
 * await tf.close();
 * ```
 */
export class MemoryStore implements TaskStore {
  readonly kind = "local";
  readonly name = "memory";
  #tasks = new Map<string, Task>();
  #byKey = new Map<string, Task>();
  /** Ids of finished tasks in the order they were written as finished. */
  #finished: string[] = [];
  #finishedHead = 0;

  open(): Promise<Task[]> {
    const unfinished = [...this.#tasks.values()].filter((t) => !isTerminal(t.status));
    return Promise.resolve(unfinished);
  }

  insert(tasks: Task[]): Promise<InsertOutcome[]> {
    const outcomes: InsertOutcome[] = [];
    const batchKeys = new Map<string, Task>();
    for (const task of tasks) {
      const key = task.idempotencyKey;
      const existing = key === null ? undefined : this.#byKey.get(key) ?? batchKeys.get(key);
      if (existing !== undefined) {
        outcomes.push({ task: existing, created: false });
        continue;
      }
      if (key !== null) batchKeys.set(key, task);
      outcomes.push({ task, created: true });
    }
    for (const outcome of outcomes) {
      if (!outcome.created) continue;
      const task = outcome.task;
      this.#tasks.set(task.id, task);
      if (task.idempotencyKey !== null) this.#byKey.set(task.idempotencyKey, task);
    }
    return Promise.resolve(outcomes);
  }

  write(tasks: Task[]): Promise<void> {
    for (const task of tasks) {
      const stored = this.#tasks.get(task.id);
      if (stored === undefined) continue;
      if (stored !== task) Object.assign(stored, task);
      if (isTerminal(task.status)) this.#finished.push(task.id);
    }
    return Promise.resolve();
  }

  get(id: string): Promise<Task | undefined> {
    return Promise.resolve(this.#tasks.get(id));
  }

  getByIdempotencyKey(key: string): Promise<Task | undefined> {
    return Promise.resolve(this.#byKey.get(key));
  }

  list(query: TaskQuery): Promise<TaskPage> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 1000);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const statuses = query.status?.length ? new Set(query.status) : undefined;
    const types = query.type?.length ? new Set(query.type) : undefined;
    const priorities = query.priority?.length ? new Set(query.priority) : undefined;
    // Ids are UUIDv7 and the map keeps insertion order, so walking it backwards is newest first.
    const ids = [...this.#tasks.keys()];
    const tasks: Task[] = [];
    let nextCursor: string | null = null;
    for (let i = ids.length - 1; i >= 0; i--) {
      if (after !== undefined && ids[i] >= after) continue;
      const task = this.#tasks.get(ids[i])!;
      if (statuses && !statuses.has(task.status)) continue;
      if (types && !types.has(task.type)) continue;
      if (priorities && !priorities.has(task.priority)) continue;
      if (tasks.length === limit) {
        nextCursor = encodeCursor(tasks[tasks.length - 1].id);
        break;
      }
      tasks.push(task);
    }
    return Promise.resolve({ tasks, nextCursor });
  }

  counts(): Promise<StatusCounts> {
    const counts = emptyCounts();
    for (const task of this.#tasks.values()) counts[task.status]++;
    return Promise.resolve(counts);
  }

  prune(options: PruneOptions): Promise<number> {
    let deleted = 0;
    while (deleted < options.batchSize && this.#finishedHead < this.#finished.length) {
      const id = this.#finished[this.#finishedHead];
      const task = this.#tasks.get(id);
      if (task === undefined || !isTerminal(task.status)) {
        this.#finishedHead++; // deleted already, or retried since it finished
        continue;
      }
      const overCount = this.#finished.length - this.#finishedHead > options.maxFinished;
      const tooOld = (task.finishedAt ?? 0) < options.finishedBefore;
      if (!overCount && !tooOld) break;
      this.#finishedHead++;
      this.#tasks.delete(id);
      if (task.idempotencyKey !== null) this.#byKey.delete(task.idempotencyKey);
      deleted++;
    }
    if (this.#finishedHead > 4096 && this.#finishedHead * 2 > this.#finished.length) {
      this.#finished = this.#finished.slice(this.#finishedHead);
      this.#finishedHead = 0;
    }
    return Promise.resolve(deleted);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
