/**
 * The in-memory store: for tests, benchmarks, embedding and `--store memory`.
 * Nothing survives the process.
 *
 * @module
 */

import { compareBy, nextCursorOf, type StoreQuery, type TaskPage } from "../model/query.ts";
import { emptyCounts, isTerminal, type StatusCounts, type Task } from "../model/task.ts";
import {
  changedControl,
  type StoredTypeControl,
  type TypeControlChange,
} from "../model/type_controls.ts";
import type { ScheduleAdvance, ScheduleUpdate, StoredSchedule } from "../model/schedule.ts";
import { TaskIndex } from "../model/task_index.ts";
import type { InsertOutcome, PruneOptions, TaskStore } from "./store.ts";

/**
 * Keeps tasks in a {@linkcode TaskIndex} (ids ascending). The engine hands it
 * the same task objects it mutates (`keepsTaskObjects`), so it writes only
 * tasks that ended, and `write()` only has to keep the finished-task order
 * retention uses.
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
  readonly keepsTaskObjects = true;
  /** Every task, ids ascending: lists walk it from the end. */
  #tasks = new TaskIndex<Task>();
  #byKey = new Map<string, Task>();
  /** Finished tasks in the order they were written as finished. */
  #finished: Task[] = [];
  #finishedHead = 0;
  #controls = new Map<string, StoredTypeControl>();
  /** Children of each parent, by the parent's id (tasks created with `dependsOn`). */
  #children = new Map<string, string[]>();
  #schedules = new Map<string, { schedule: StoredSchedule; owner: string; until: number }>();

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
      this.#tasks.add(task);
      if (task.idempotencyKey !== null) this.#byKey.set(task.idempotencyKey, task);
      if (task.dependsOn !== undefined) {
        for (const parent of task.dependsOn) {
          const children = this.#children.get(parent);
          if (children === undefined) this.#children.set(parent, [task.id]);
          else children.push(task.id);
        }
      }
    }
    return Promise.resolve(outcomes);
  }

  write(tasks: Task[]): Promise<void> {
    for (const task of tasks) {
      const stored = this.#tasks.get(task.id);
      if (stored === undefined) continue;
      if (stored !== task) Object.assign(stored, task);
      if (isTerminal(task.status)) this.#finished.push(stored);
    }
    return Promise.resolve();
  }

  get(id: string): Promise<Task | undefined> {
    return Promise.resolve(this.#tasks.get(id));
  }

  getMany(ids: string[]): Promise<Task[]> {
    const found: Task[] = [];
    for (const id of ids) {
      const task = this.#tasks.get(id);
      if (task !== undefined) found.push(task);
    }
    return Promise.resolve(found);
  }

  getByIdempotencyKey(key: string): Promise<Task | undefined> {
    return Promise.resolve(this.#byKey.get(key));
  }

  dependents(id: string, limit: number): Promise<Task[]> {
    const ids = this.#children.get(id) ?? [];
    const found: Task[] = [];
    for (let i = ids.length - 1; i >= 0 && found.length < limit; i--) {
      const task = this.#tasks.get(ids[i]);
      if (task !== undefined) found.push(task);
    }
    return Promise.resolve(found);
  }

  list(query: StoreQuery): Promise<TaskPage> {
    const limit = query.limit;
    const after = query.after;
    const statuses = query.status?.length ? new Set(query.status) : undefined;
    const types = query.type?.length ? new Set(query.type) : undefined;
    const priorities = query.priority?.length ? new Set(query.priority) : undefined;
    const [low, high] = query.idRange ?? ["", "~"];
    const matches = (task: Task) =>
      task.id >= low && task.id <= high &&
      (!statuses || statuses.has(task.status)) &&
      (!types || types.has(task.type)) &&
      (!priorities || priorities.has(task.priority));
    if (query.sort !== undefined && query.sort !== "created") {
      // The first offset + limit + 1 in order, kept sorted while every match is seen once:
      // O(n log k), not a sort of every match.
      const compare = compareBy(query.sort);
      const offset = query.offset ?? 0;
      const keep = offset + limit + 1;
      const top: Task[] = [];
      let total = 0;
      // Newest first: ties are ordered so, and they then rarely enter the kept few.
      this.#tasks.descending((task) => {
        if (!matches(task)) return true;
        total++;
        if (top.length === keep && compare(task, top[keep - 1]) >= 0) return true;
        let low = 0;
        let high = top.length;
        while (low < high) {
          const middle = (low + high) >>> 1;
          if (compare(top[middle], task) <= 0) low = middle + 1;
          else high = middle;
        }
        top.splice(low, 0, task);
        if (top.length > keep) top.pop();
        return true;
      });
      const tasks = top.slice(offset, offset + limit);
      const page: TaskPage = { tasks, nextCursor: nextCursorOf(query, tasks, top.length === keep) };
      if (query.withTotal) page.total = total;
      return Promise.resolve(page);
    }
    const tasks: Task[] = [];
    let more = false;
    this.#tasks.descending((task) => {
      if (!matches(task)) return true;
      if (tasks.length === limit) {
        more = true;
        return false;
      }
      tasks.push(task);
      return true;
    }, after);
    const page: TaskPage = { tasks, nextCursor: nextCursorOf(query, tasks, more) };
    if (query.withTotal) {
      let total = 0;
      for (const task of this.#tasks.values()) if (matches(task)) total++;
      page.total = total;
    }
    return Promise.resolve(page);
  }

  counts(): Promise<StatusCounts> {
    const counts = emptyCounts();
    for (const task of this.#tasks.values()) counts[task.status]++;
    return Promise.resolve(counts);
  }

  countsByType(): Promise<Record<string, StatusCounts>> {
    const byType: Record<string, StatusCounts> = {};
    for (const task of this.#tasks.values()) (byType[task.type] ??= emptyCounts())[task.status]++;
    return Promise.resolve(byType);
  }

  typeControls(): Promise<StoredTypeControl[]> {
    return Promise.resolve([...this.#controls.values()].map((control) => ({ ...control })));
  }

  saveTypeControl(type: string, change: TypeControlChange): Promise<StoredTypeControl> {
    const control = changedControl(type, this.#controls.get(type), change);
    this.#controls.set(type, control);
    return Promise.resolve({ ...control });
  }

  schedules(): Promise<StoredSchedule[]> {
    const names = [...this.#schedules.keys()].sort();
    return Promise.resolve(
      names.map((name) => structuredClone(this.#schedules.get(name)!.schedule)),
    );
  }

  getSchedule(name: string): Promise<StoredSchedule | undefined> {
    const entry = this.#schedules.get(name);
    return Promise.resolve(entry === undefined ? undefined : structuredClone(entry.schedule));
  }

  insertSchedule(schedule: StoredSchedule): Promise<boolean> {
    if (this.#schedules.has(schedule.name)) return Promise.resolve(false);
    this.#schedules.set(schedule.name, {
      schedule: structuredClone(schedule),
      owner: "",
      until: 0,
    });
    return Promise.resolve(true);
  }

  updateSchedule(name: string, update: ScheduleUpdate): Promise<StoredSchedule | undefined> {
    const entry = this.#schedules.get(name);
    if (entry === undefined) return Promise.resolve(undefined);
    const { nextRunAt, ...fields } = structuredClone(update);
    Object.assign(entry.schedule, fields);
    if (nextRunAt !== undefined) entry.schedule.nextRunAt = nextRunAt;
    return Promise.resolve(structuredClone(entry.schedule));
  }

  deleteSchedule(name: string): Promise<boolean> {
    return Promise.resolve(this.#schedules.delete(name));
  }

  claimDueSchedules(
    now: number,
    owner: string,
    leaseMs: number,
    limit: number,
  ): Promise<StoredSchedule[]> {
    const due = [...this.#schedules.values()].filter(({ schedule, until }) =>
      !schedule.paused && schedule.nextRunAt !== null && schedule.nextRunAt <= now && until <= now
    ).sort((a, b) => a.schedule.nextRunAt! - b.schedule.nextRunAt!).slice(0, limit);
    for (const entry of due) {
      entry.owner = owner;
      entry.until = now + leaseMs;
    }
    return Promise.resolve(due.map((entry) => structuredClone(entry.schedule)));
  }

  advanceSchedule(
    name: string,
    expectedNextRunAt: number,
    advance: ScheduleAdvance,
  ): Promise<boolean> {
    const entry = this.#schedules.get(name);
    if (entry === undefined || entry.schedule.nextRunAt !== expectedNextRunAt) {
      return Promise.resolve(false);
    }
    Object.assign(entry.schedule, advance);
    entry.owner = "";
    entry.until = 0;
    return Promise.resolve(true);
  }

  nextScheduleAt(): Promise<number | null> {
    let earliest: number | null = null;
    for (const { schedule, until } of this.#schedules.values()) {
      if (schedule.paused || schedule.nextRunAt === null) continue;
      const at = Math.max(schedule.nextRunAt, until);
      if (earliest === null || at < earliest) earliest = at;
    }
    return Promise.resolve(earliest);
  }

  prune(options: PruneOptions): Promise<number> {
    let deleted = 0;
    while (deleted < options.batchSize && this.#finishedHead < this.#finished.length) {
      const task = this.#finished[this.#finishedHead];
      if (!isTerminal(task.status)) {
        this.#finishedHead++; // retried since it finished
        continue;
      }
      const overCount = this.#finished.length - this.#finishedHead > options.maxFinished;
      const tooOld = (task.finishedAt ?? 0) < options.finishedBefore;
      if (!overCount && !tooOld) break;
      this.#finishedHead++;
      if (!this.#tasks.delete(task.id)) continue; // finished twice, and deleted at the first
      if (task.idempotencyKey !== null) this.#byKey.delete(task.idempotencyKey);
      // Deleting from an empty map would still hash the id, the dearest step here.
      if (this.#children.size > 0) this.#children.delete(task.id);
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
