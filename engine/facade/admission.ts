/**
 * Admission: how a new task gets into the engine. Inputs are validated and
 * built as a whole (`submit.ts`), dependencies checked, the room left under
 * `maxQueued` counted through the source, and only then are the tasks
 * inserted into the store and handed to the engine loop.
 *
 * @module
 */

import { QueueFullError } from "../model/errors.ts";
import type { SubmitInput, SubmitResult, Task, TaskScheduleRef } from "../model/task.ts";
import type { TaskSource } from "../source/source.ts";
import type { TaskStore } from "../store/store.ts";
import type { StoreWriter } from "../store/store_writer.ts";
import type { Dependencies } from "./dependencies.ts";
import type { ResolvedOptions } from "./options.ts";
import type { Runner } from "./runner.ts";
import { buildTasks } from "./submit.ts";

/** The pool as admission counts it: jobs workers hold and have not started. */
export interface AdmissionPool {
  readonly pending: number;
}

/** What admission needs from the engine. */
export interface AdmissionParts {
  options: Readonly<ResolvedOptions>;
  store: TaskStore;
  /** Whether the engine runs tasks of this type. */
  hasTaskType(type: string): boolean;
  source: TaskSource;
  pool: AdmissionPool;
  writer: StoreWriter;
  runner: Runner;
  dependencies: Dependencies;
  /** Throws `ClosedError` once the engine is closing. */
  assertAccepting(): void;
}

/**
 * Admits new tasks: validates, checks room, inserts, hands over.
 *
 * @example
 * ```ts ignore
 * const admission = new Admission(parts);
 * const [{ task, created }] = await admission.submit([{ type: "noop" }], false);
 * ```
 */
export class Admission {
  #parts: AdmissionParts;
  /** Tasks being inserted by submits not yet finished: they count against `maxQueued`. */
  #reserved = 0;

  constructor(parts: AdmissionParts) {
    this.#parts = parts;
  }

  /**
   * Submits tasks: one input (`batch` false, fields named plainly) or a
   * batch (fields named `tasks[i].`), optionally fired by a schedule.
   * Resolves once they are in the store, in input order.
   */
  async submit(
    inputs: SubmitInput[],
    batch: boolean,
    schedule?: TaskScheduleRef,
  ): Promise<SubmitResult[]> {
    const parts = this.#parts;
    parts.assertAccepting();
    const tasks = buildTasks(inputs, batch, {
      options: parts.options,
      hasTaskType: (type) => parts.hasTaskType(type),
    });
    if (schedule !== undefined) tasks[0].schedule = { ...schedule };
    if (tasks.some((task) => task.dependsOn !== undefined)) {
      await parts.dependencies.check(tasks, tasks.map((_, i) => batch ? `tasks[${i}].` : ""));
    }
    const count = tasks.length;
    this.#reserved += count;
    let outcomes;
    try {
      // A local source counts its waiting tasks at once: no promise to wait for then.
      const room = this.#checkRoom(count, this.#reserved - count);
      if (room !== undefined) await room;
      outcomes = await parts.store.insert(tasks);
    } finally {
      this.#reserved -= count;
    }
    const created: Task[] = [];
    const results: SubmitResult[] = new Array(count);
    for (let i = 0; i < count; i++) {
      // The engine keeps its own task object; a store may answer with a copy.
      const task = outcomes[i].created ? tasks[i] : outcomes[i].task;
      if (outcomes[i].created) created.push(task);
      results[i] = { task: { ...task }, created: outcomes[i].created };
    }
    parts.runner.admit(created);
    parts.dependencies.admitted(created);
    return results;
  }

  /**
   * Throws `QueueFullError` unless `count` more waiting tasks fit under
   * `maxQueued`, counting those of submits still under way (`reserved`).
   */
  async assertRoom(count: number, reserved = this.#reserved): Promise<void> {
    await this.#checkRoom(count, reserved);
  }

  /**
   * {@linkcode assertRoom}, answered at once (`undefined`, or a throw) when
   * the source counts its waiting tasks synchronously.
   */
  #checkRoom(count: number, reserved: number): Promise<void> | undefined {
    const { options, source, pool, dependencies } = this.#parts;
    const waiting = source.waiting(pool.pending, reserved);
    if (typeof waiting !== "number") return this.#checkRoomLater(waiting, count, reserved);
    if (waiting + dependencies.blocked + count <= options.maxQueued) return undefined;
    if (source.shared) return this.#checkRoomLater(waiting, count, reserved);
    throw new QueueFullError(options.maxQueued);
  }

  async #checkRoomLater(
    counted: number | Promise<number>,
    count: number,
    reserved: number,
  ): Promise<void> {
    const { options, source, pool, dependencies, writer } = this.#parts;
    const max = options.maxQueued;
    const waiting = await counted + dependencies.blocked;
    if (waiting + count <= max) return;
    if (source.shared) {
      // The cluster's figure may be a moment old: with this node's changes written, ask again.
      await writer.settled();
      const now = await source.waiting(pool.pending, reserved, true);
      if (now + count <= max) return;
    }
    throw new QueueFullError(max);
  }
}
