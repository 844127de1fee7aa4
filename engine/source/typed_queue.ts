/**
 * Ready tasks by task type: one priority queue per type, so a type that may
 * not start now (paused, at its concurrency limit, out of rate budget) is
 * passed over without holding back the others. The most urgent task of the
 * types allowed is taken: highest (aged) priority, then the longest waiting.
 *
 * @module
 */

import { MAX_PRIORITY, MIN_PRIORITY } from "../model/limits.ts";
import type { Task } from "../model/task.ts";
import { PriorityQueue } from "./priority_queue.ts";

/** Which task types may start now; `undefined` allows every type. */
export type TypeFilter = ((type: string) => boolean) | undefined;

/**
 * Priority queues of tasks, one per type.
 *
 * @example
 * ```ts ignore
 * const queue = new TypedQueue({ agingMs: 0 });
 * queue.push(task, task.runAt);
 * const next = queue.take(Date.now(), (type) => type !== "paused-type");
 * ```
 */
export class TypedQueue {
  #queues = new Map<string, PriorityQueue<Task>>();
  /** The same queues with their types, to walk without a Map iterator on every peek and take. */
  #typed: Array<{ type: string; queue: PriorityQueue<Task> }> = [];
  #agingMs: number;
  #size = 0;

  constructor(options: { agingMs: number }) {
    this.#agingMs = options.agingMs;
  }

  /** Tasks waiting. */
  get size(): number {
    return this.#size;
  }

  push(task: Task, enqueuedAt: number): void {
    this.#queueOf(task.type).push(task, enqueuedAt);
    this.#size++;
  }

  /** Puts a task back at the head of its lane (taken and never used). */
  unshift(task: Task, enqueuedAt: number): void {
    this.#queueOf(task.type).unshift(task, enqueuedAt);
    this.#size++;
  }

  /** Removes a task that waits here (the caller knows it does). */
  remove(task: Task): void {
    this.#queues.get(task.type)?.remove(task);
    this.#size--;
  }

  /** The task `take` would return, without taking it. */
  peek(now: number, allowed: TypeFilter): Task | undefined {
    return this.#best(now, allowed)?.peek(now);
  }

  /** Takes the most urgent task of an allowed type. */
  take(now: number, allowed: TypeFilter): Task | undefined {
    const queue = this.#best(now, allowed);
    if (queue === undefined) return undefined;
    this.#size--;
    return queue.pop(now);
  }

  /** Takes every waiting task of `type`, most urgent first. */
  drain(type: string, now: number): Task[] {
    const queue = this.#queues.get(type);
    const tasks: Task[] = [];
    if (queue === undefined) return tasks;
    for (let task = queue.pop(now); task !== undefined; task = queue.pop(now)) tasks.push(task);
    this.#size -= tasks.length;
    return tasks;
  }

  /** Tasks waiting of `type`. */
  sizeOf(type: string): number {
    return this.#queues.get(type)?.size ?? 0;
  }

  /** Waiting tasks per priority level, keyed "1".."10". */
  sizeByPriority(): Record<string, number> {
    const sizes: Record<string, number> = {};
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) sizes[p] = 0;
    for (const queue of this.#queues.values()) {
      if (queue.size === 0) continue;
      const own = queue.sizeByPriority();
      for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) sizes[p] += own[p];
    }
    return sizes;
  }

  /** When each level's oldest waiting task was queued (ms), keyed "1".."10"; `null` when empty. */
  oldestByPriority(): Record<string, number | null> {
    const oldest: Record<string, number | null> = {};
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) oldest[p] = null;
    for (const queue of this.#queues.values()) {
      if (queue.size === 0) continue;
      const own = queue.oldestByPriority();
      for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) {
        const at = own[p];
        if (at !== null && (oldest[p] === null || at < oldest[p]!)) oldest[p] = at;
      }
    }
    return oldest;
  }

  #queueOf(type: string): PriorityQueue<Task> {
    let queue = this.#queues.get(type);
    if (queue === undefined) {
      queue = new PriorityQueue<Task>({ agingMs: this.#agingMs });
      this.#queues.set(type, queue);
      this.#typed.push({ type, queue });
    }
    return queue;
  }

  /** The queue whose head goes first among the allowed types. */
  #best(now: number, allowed: TypeFilter): PriorityQueue<Task> | undefined {
    if (this.#size === 0) return undefined;
    // Most of the time one type has tasks waiting: no comparison needed.
    let only: PriorityQueue<Task> | undefined;
    for (const { type, queue } of this.#typed) {
      if (queue.size === 0 || (allowed !== undefined && !allowed(type))) continue;
      if (only !== undefined) return this.#compare(now, allowed);
      only = queue;
    }
    return only;
  }

  #compare(now: number, allowed: TypeFilter): PriorityQueue<Task> | undefined {
    let best: PriorityQueue<Task> | undefined;
    let level = -1;
    let at = Infinity;
    let id = "";
    for (const { type, queue } of this.#typed) {
      if (queue.size === 0 || (allowed !== undefined && !allowed(type))) continue;
      const head = queue.head(now);
      if (head === undefined) continue;
      const better = head.level > level ||
        (head.level === level &&
          (head.enqueuedAt < at || (head.enqueuedAt === at && head.item.id < id)));
      if (better) {
        best = queue;
        level = head.level;
        at = head.enqueuedAt;
        id = head.item.id;
      }
    }
    return best;
  }
}
