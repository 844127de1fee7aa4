/**
 * The ready queue: tasks waiting for a worker, most urgent first.
 *
 * Ten FIFO lanes, one per priority level. Push and pop are O(1) and touch no
 * hash table: the queue keeps no index of its items. Removing an item (a
 * cancel, which is rare) leaves a marker that drops its entry when the entry
 * reaches the head of its lane. With aging on, an item gains one level per
 * `agingMs` waited (capped at 10); since each lane is FIFO, only the ten lane
 * heads need comparing, so pop stays O(1).
 *
 * @module
 */

import { MAX_PRIORITY, MIN_PRIORITY } from "../model/limits.ts";

/** What the queue needs of an item: its priority, 1–10. */
export interface Prioritized {
  readonly priority: number;
}

/**
 * A FIFO lane: items and the times they were queued in two arrays with a
 * moving head (no object per entry), compacted when half is dead.
 */
class Lane<T> {
  #items: T[] = [];
  #times: number[] = [];
  #head = 0;
  /** Items waiting in this lane (entries minus those removed). */
  live = 0;

  get entries(): number {
    return this.#items.length - this.#head;
  }

  push(item: T, enqueuedAt: number): void {
    this.#items.push(item);
    this.#times.push(enqueuedAt);
  }

  unshift(item: T, enqueuedAt: number): void {
    if (this.#head > 0) {
      this.#head--;
      this.#items[this.#head] = item;
      this.#times[this.#head] = enqueuedAt;
    } else {
      this.#items.unshift(item);
      this.#times.unshift(enqueuedAt);
    }
  }

  /** The item at the head (the lane is not empty). */
  head(): T {
    return this.#items[this.#head];
  }

  /** When the item at the head was queued. */
  headAt(): number {
    return this.#times[this.#head];
  }

  shift(): void {
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#times = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#times = this.#times.slice(this.#head);
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
 * A priority queue: priority 10 first, FIFO within a level.
 *
 * @example
 * ```ts
 * import { PriorityQueue } from "./engine/source/priority_queue.ts";
 * const queue = new PriorityQueue<{ name: string; priority: number }>();
 * queue.push({ name: "low", priority: 1 }, Date.now());
 * queue.push({ name: "high", priority: 9 }, Date.now());
 * queue.pop(Date.now())?.name; // "high"
 * ```
 */
export class PriorityQueue<T extends Prioritized> {
  #lanes: Lane<T>[] = [];
  #size = 0;
  /** Items removed while waiting, and how many of their entries are still in a lane. */
  #removed = new Map<T, number>();
  #agingMs: number;

  constructor(options: PriorityQueueOptions = {}) {
    this.#agingMs = options.agingMs ?? 0;
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) this.#lanes.push(new Lane<T>());
  }

  /** Items waiting. */
  get size(): number {
    return this.#size;
  }

  /** Adds an item at the back of its priority's lane; `enqueuedAt` is when it became ready. */
  push(item: T, enqueuedAt: number): void {
    const lane = this.#lanes[item.priority - MIN_PRIORITY];
    lane.push(item, enqueuedAt);
    lane.live++;
    this.#size++;
  }

  /** Puts an item back at the head of its lane (it was taken and never used). */
  unshift(item: T, enqueuedAt: number): void {
    const lane = this.#lanes[item.priority - MIN_PRIORITY];
    lane.unshift(item, enqueuedAt);
    lane.live++;
    this.#size++;
  }

  /** Removes an item that is waiting here (the caller knows it is). */
  remove(item: T): void {
    this.#removed.set(item, (this.#removed.get(item) ?? 0) + 1);
    this.#lanes[item.priority - MIN_PRIORITY].live--;
    this.#size--;
  }

  /** Takes the most urgent item (oldest first within a level), or `undefined` when empty. */
  pop(now: number): T | undefined {
    const lane = this.#pickLane(now);
    if (lane === undefined) return undefined;
    const item = lane.head();
    lane.shift();
    lane.live--;
    this.#size--;
    return item;
  }

  /**
   * The item `pop` would return now, with the level it competes at (its
   * priority, raised by aging) and when it was queued; for comparing queues.
   */
  head(now: number): { item: T; level: number; enqueuedAt: number } | undefined {
    const lane = this.#pickLane(now);
    if (lane === undefined) return undefined;
    const item = lane.head();
    const enqueuedAt = lane.headAt();
    const level = this.#agingMs <= 0 ? item.priority : Math.min(
      MAX_PRIORITY,
      item.priority + Math.floor((now - enqueuedAt) / this.#agingMs),
    );
    return { item, level, enqueuedAt };
  }

  /** The item `pop` would return now, without taking it. */
  peek(now: number): T | undefined {
    const lane = this.#pickLane(now);
    return lane === undefined ? undefined : lane.head();
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
      const lane = this.#lanes[p - MIN_PRIORITY];
      oldest[p] = this.#live(lane) ? lane.headAt() : null;
    }
    return oldest;
  }

  /** Whether the lane holds a live item, dropping removed ones from its head on the way. */
  #live(lane: Lane<T>): boolean {
    if (lane.live === 0) {
      // Only removed entries can be left: drop them all.
      while (lane.entries > 0) this.#dropHead(lane);
      return false;
    }
    while (this.#removed.size > 0 && this.#removed.has(lane.head())) this.#dropHead(lane);
    return true;
  }

  #dropHead(lane: Lane<T>): void {
    const item = lane.head();
    const count = this.#removed.get(item);
    if (count === 1) this.#removed.delete(item);
    else if (count !== undefined) this.#removed.set(item, count - 1);
    lane.shift();
  }

  #pickLane(now: number): Lane<T> | undefined {
    if (this.#size === 0) return undefined;
    if (this.#agingMs <= 0) {
      for (let i = this.#lanes.length - 1; i >= 0; i--) {
        const lane = this.#lanes[i];
        if (lane.live > 0 && this.#live(lane)) return lane;
      }
      return undefined;
    }
    let best: Lane<T> | undefined;
    let bestLevel = -1;
    let bestAt = Infinity;
    for (let i = this.#lanes.length - 1; i >= 0; i--) {
      const lane = this.#lanes[i];
      if (lane.live === 0 || !this.#live(lane)) continue;
      const item = lane.head();
      const at = lane.headAt();
      const aged = item.priority + Math.floor((now - at) / this.#agingMs);
      const level = Math.min(MAX_PRIORITY, aged);
      if (level > bestLevel || (level === bestLevel && at < bestAt)) {
        best = lane;
        bestLevel = level;
        bestAt = at;
      }
    }
    return best;
  }
}
