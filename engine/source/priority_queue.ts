/**
 * The ready queue: tasks waiting for a worker, most urgent first.
 *
 * Ten FIFO lanes, one per priority level. Push and pop are O(1); removal by
 * id is O(1) through an index and lazy deletion (a removed entry is skipped
 * when it reaches the head of its lane). With aging on, a task gains one
 * level per `agingMs` waited (capped at 10); since each lane is FIFO, only
 * the ten lane heads need comparing, so pop stays O(1).
 *
 * @module
 */

import { MAX_PRIORITY, MIN_PRIORITY } from "../model/task.ts";

interface QueueEntry<T> {
  item: T;
  priority: number;
  enqueuedAt: number;
  removed: boolean;
}

/** A FIFO lane: an array with a moving head, compacted when half is dead. */
class Lane<T> {
  #entries: QueueEntry<T>[] = [];
  #head = 0;
  /** Live (not removed) entries in this lane. */
  live = 0;

  push(entry: QueueEntry<T>): void {
    this.#entries.push(entry);
    this.live++;
  }

  /** Puts `entry` at the head of the lane. */
  unshift(entry: QueueEntry<T>): void {
    if (this.#head > 0) this.#entries[--this.#head] = entry;
    else this.#entries.unshift(entry);
    this.live++;
  }

  /** The oldest live entry, dropping removed ones on the way. */
  peek(): QueueEntry<T> | undefined {
    const entries = this.#entries;
    while (this.#head < entries.length && entries[this.#head].removed) this.#head++;
    this.#compact();
    // Compaction may have replaced the array: read the head from the current one.
    return this.#entries[this.#head];
  }

  shift(): QueueEntry<T> | undefined {
    const entry = this.peek();
    if (entry === undefined) return undefined;
    this.#entries[this.#head] = undefined as unknown as QueueEntry<T>;
    this.#head++;
    this.live--;
    this.#compact();
    return entry;
  }

  #compact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** Options for {@linkcode PriorityQueue}. */
export interface PriorityQueueOptions {
  /** A waiting item gains one priority level per this many ms; 0 turns aging off. Default 0. */
  agingMs?: number;
}

/**
 * A priority queue of items keyed by id: priority 10 first, FIFO within a level.
 *
 * @example
 * ```ts
 * import { PriorityQueue } from "./engine/source/priority_queue.ts";
 * const queue = new PriorityQueue<string>();
 * queue.push("a", "low", 1, Date.now());
 * queue.push("b", "high", 9, Date.now());
 * queue.pop(Date.now()); // "high"
 * ```
 */
export class PriorityQueue<T> {
  #lanes: Lane<T>[] = [];
  #index = new Map<string, QueueEntry<T>>();
  #agingMs: number;

  constructor(options: PriorityQueueOptions = {}) {
    this.#agingMs = options.agingMs ?? 0;
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) this.#lanes.push(new Lane<T>());
  }

  /** Items waiting. */
  get size(): number {
    return this.#index.size;
  }

  /** Whether an item with this id is waiting. */
  has(id: string): boolean {
    return this.#index.has(id);
  }

  /** Adds an item at the back of its priority's lane. An id already queued is replaced. */
  push(id: string, item: T, priority: number, enqueuedAt: number): void {
    this.remove(id);
    const entry: QueueEntry<T> = { item, priority, enqueuedAt, removed: false };
    this.#index.set(id, entry);
    this.#lanes[priority - MIN_PRIORITY].push(entry);
  }

  /**
   * Puts an item back at the head of its priority's lane (it was taken and
   * never used), keeping its original `enqueuedAt` for aging and ages.
   */
  unshift(id: string, item: T, priority: number, enqueuedAt: number): void {
    this.remove(id);
    const entry: QueueEntry<T> = { item, priority, enqueuedAt, removed: false };
    this.#index.set(id, entry);
    this.#lanes[priority - MIN_PRIORITY].unshift(entry);
  }

  /** Removes a waiting item by id; returns it, or `undefined` when it was not waiting. */
  remove(id: string): T | undefined {
    const entry = this.#index.get(id);
    if (entry === undefined) return undefined;
    this.#index.delete(id);
    entry.removed = true;
    this.#lanes[entry.priority - MIN_PRIORITY].live--;
    return entry.item;
  }

  /** Takes the most urgent item (oldest first within a level), or `undefined` when empty. */
  pop(now: number, idOf: (item: T) => string): T | undefined {
    const lane = this.#pickLane(now);
    if (lane === undefined) return undefined;
    const entry = lane.shift()!;
    this.#index.delete(idOf(entry.item));
    return entry.item;
  }

  /** The item `pop` would return now, without taking it. */
  peek(now: number): T | undefined {
    return this.#pickLane(now)?.peek()?.item;
  }

  /** Waiting items per priority level, keyed "1".."10". */
  sizeByPriority(): Record<string, number> {
    const sizes: Record<string, number> = {};
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) {
      sizes[p] = this.#lanes[p - MIN_PRIORITY].live;
    }
    return sizes;
  }

  /** When the oldest waiting item of each level was queued (ms), keyed "1".."10"; `null` when empty. */
  oldestByPriority(): Record<string, number | null> {
    const oldest: Record<string, number | null> = {};
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) {
      oldest[p] = this.#lanes[p - MIN_PRIORITY].peek()?.enqueuedAt ?? null;
    }
    return oldest;
  }

  #pickLane(now: number): Lane<T> | undefined {
    if (this.#index.size === 0) return undefined;
    if (this.#agingMs <= 0) {
      for (let i = this.#lanes.length - 1; i >= 0; i--) {
        if (this.#lanes[i].live > 0) return this.#lanes[i];
      }
      return undefined;
    }
    let best: Lane<T> | undefined;
    let bestLevel = -1;
    let bestAt = Infinity;
    for (let i = this.#lanes.length - 1; i >= 0; i--) {
      const lane = this.#lanes[i];
      if (lane.live === 0) continue;
      const head = lane.peek()!;
      const aged = head.priority + Math.floor((now - head.enqueuedAt) / this.#agingMs);
      const level = Math.min(MAX_PRIORITY, aged);
      if (level > bestLevel || (level === bestLevel && head.enqueuedAt < bestAt)) {
        best = lane;
        bestLevel = level;
        bestAt = head.enqueuedAt;
      }
    }
    return best;
  }
}
