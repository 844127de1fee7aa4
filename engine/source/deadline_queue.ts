/**
 * Many deadlines, one timer: a binary min-heap on time with an index for
 * removal by key, and a single `setTimeout` armed for the earliest deadline.
 * 100,000 delayed tasks cost one timer while they wait.
 *
 * @module
 */

interface Deadline<T> {
  at: number;
  key: string;
  value: T;
  index: number;
  /** Insertion order, so equal deadlines come out first in, first out. */
  seq: number;
}

function before<T>(a: Deadline<T>, b: Deadline<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Longest delay `setTimeout` accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onDue` with the values whose deadlines have passed.
 *
 * @example
 * ```ts
 * import { DeadlineQueue } from "./engine/source/deadline_queue.ts";
 * const timers = new DeadlineQueue<string>((due) => console.log(due));
 * timers.set("a", Date.now() + 10, "hello");
 * timers.delete("a");
 * timers.close();
 * ```
 */
export class DeadlineQueue<T> {
  #heap: Deadline<T>[] = [];
  #byKey = new Map<string, Deadline<T>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #onDue: (values: T[]) => void;
  #closed = false;
  #seq = 0;

  constructor(onDue: (values: T[]) => void) {
    this.#onDue = onDue;
  }

  get size(): number {
    return this.#heap.length;
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** The earliest deadline, or `undefined` when empty. */
  get nextAt(): number | undefined {
    return this.#heap[0]?.at;
  }

  /** Sets (or moves) the deadline for `key`. */
  set(key: string, at: number, value: T): void {
    const existing = this.#byKey.get(key);
    if (existing !== undefined) this.#removeAt(existing.index);
    const deadline: Deadline<T> = { at, key, value, index: this.#heap.length, seq: this.#seq++ };
    this.#heap.push(deadline);
    this.#byKey.set(key, deadline);
    this.#up(deadline.index);
    this.#arm();
  }

  /** Removes the deadline for `key`; returns its value, or `undefined`. */
  delete(key: string): T | undefined {
    const deadline = this.#byKey.get(key);
    if (deadline === undefined) return undefined;
    this.#removeAt(deadline.index);
    this.#arm();
    return deadline.value;
  }

  /** Removes and returns every value whose deadline is at or before `now`, earliest first. */
  takeDue(now: number): T[] {
    const due: T[] = [];
    while (this.#heap.length > 0 && this.#heap[0].at <= now) {
      const top = this.#heap[0];
      this.#removeAt(0);
      due.push(top.value);
    }
    return due;
  }

  /** Every value, in no particular order. */
  values(): T[] {
    return this.#heap.map((d) => d.value);
  }

  /** Clears the timer; nothing fires afterwards. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(): void {
    if (this.#closed) return;
    const next = this.#heap[0]?.at ?? Infinity;
    // A timer set for an earlier time stays: when it fires it finds nothing due and re-arms.
    // Resetting timers costs more than the occasional early wake-up.
    if (this.#timer !== undefined && this.#timerAt <= next) return;
    if (next === this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = next;
    if (next === Infinity) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now()));
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const due = this.takeDue(Date.now());
    if (due.length > 0) this.#onDue(due);
    this.#arm();
  }

  #removeAt(index: number): void {
    const heap = this.#heap;
    const removed = heap[index];
    this.#byKey.delete(removed.key);
    const last = heap.pop()!;
    if (index < heap.length) {
      heap[index] = last;
      last.index = index;
      this.#down(index);
      this.#up(last.index);
    }
  }

  #up(index: number): void {
    const heap = this.#heap;
    const item = heap[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(item, heap[parent])) break;
      heap[index] = heap[parent];
      heap[index].index = index;
      index = parent;
    }
    heap[index] = item;
    item.index = index;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const item = heap[index];
    const half = heap.length >> 1;
    while (index < half) {
      let child = 2 * index + 1;
      const right = child + 1;
      if (right < heap.length && before(heap[right], heap[child])) child = right;
      if (!before(heap[child], item)) break;
      heap[index] = heap[child];
      heap[index].index = index;
      index = child;
    }
    heap[index] = item;
    item.index = index;
  }
}
