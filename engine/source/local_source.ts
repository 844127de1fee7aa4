/**
 * The local task source (memory and SQLite stores): this process owns the
 * queue, so ready tasks wait in the priority queue and delayed ones in the
 * deadline heap, both in memory, rebuilt from the store at start.
 *
 * @module
 */

import type { ThreadFlowEvent } from "../model/events.ts";
import { MAX_PRIORITY, MIN_PRIORITY } from "../model/limits.ts";
import type { StatusCounts, Task } from "../model/task.ts";
import { DeadlineQueue } from "./deadline_queue.ts";
import { TypedQueue, type TypeFilter } from "./typed_queue.ts";
import type { QueueDepth, SourceHooks, StoreChange, TaskSource } from "./source.ts";

/**
 * Queue and delay heap in memory.
 *
 * @example
 * ```ts ignore
 * const source = new LocalSource({ agingMs: 0 }, hooks);
 * await source.start(await store.open());
 * ```
 */
export class LocalSource implements TaskSource {
  readonly shared = false;
  readonly healthy = true;
  #queue: TypedQueue;
  #delayed: DeadlineQueue<Task>;

  constructor(options: { agingMs: number }, hooks: Pick<SourceHooks, "due">) {
    this.#queue = new TypedQueue({ agingMs: options.agingMs });
    this.#delayed = new DeadlineQueue<Task>((due) => hooks.due(due));
  }

  get size(): number {
    return this.#queue.size;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  refill(_freed?: string): void {}

  peek(now: number, allowed: TypeFilter): Task | undefined {
    return this.#queue.peek(now, allowed);
  }

  take(now: number, allowed: TypeFilter): Task {
    return this.#queue.take(now, allowed)!;
  }

  /** Every waiting task is here already, under the gate's new rules. */
  controlsChanged(_type: string): void {}

  sizeOf(type: string): number {
    return this.#queue.sizeOf(type);
  }

  giveBack(tasks: Task[]): void {
    for (let i = tasks.length - 1; i >= 0; i--) {
      const task = tasks[i];
      this.#queue.unshift(task, task.runAt);
    }
  }

  admit(task: Task, now: number): boolean {
    return this.place(task, now);
  }

  place(task: Task, _now: number): boolean {
    if (task.status === "queued") this.#queue.push(task, task.runAt);
    else if (task.status === "scheduled") this.#delayed.set(task.id, task.runAt, task);
    return true;
  }

  remove(task: Task): void {
    if (task.status === "scheduled") this.#delayed.delete(task.id);
    else if (task.status === "queued") this.#queue.remove(task);
  }

  /** Every unfinished task is held here: nothing is elsewhere to cancel. */
  cancelElsewhere(): Promise<StoreChange | undefined> {
    return Promise.resolve(undefined);
  }

  waiting(pending: number, reserved: number, _fresh?: boolean): number {
    return this.#queue.size + this.#delayed.size + pending + reserved;
  }

  counts(local: StatusCounts): StatusCounts {
    return { ...local };
  }

  depth(pending: QueueDepth): QueueDepth {
    const sizes = this.#queue.sizeByPriority();
    const oldest = this.#queue.oldestByPriority();
    const queuedByPriority: Record<string, number> = {};
    const oldestQueuedAt: Record<string, number | null> = {};
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) {
      queuedByPriority[p] = sizes[p] + pending.queuedByPriority[p];
      const a = oldest[p];
      const b = pending.oldestQueuedAt[p];
      oldestQueuedAt[p] = a === null ? b : b === null ? a : Math.min(a, b);
    }
    return { queuedByPriority, oldestQueuedAt };
  }

  publish(_event: ThreadFlowEvent): void {}

  close(_held: Task[]): Promise<void> {
    this.#delayed.close();
    return Promise.resolve();
  }
}
