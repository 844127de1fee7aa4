/**
 * A bounded log of recently finished tasks, in finishing order, for the
 * original ThreadFlow's `GET /completed_tasks?since=`.
 *
 * @module
 */

import { TERMINAL_EVENT_TYPES, type ThreadFlowEvent } from "../engine/mod.ts";

/** One finished task. */
export interface Completion {
  id: string;
  /** ms since epoch. */
  finishedAt: number;
}

/**
 * Remembers the last `capacity` finished tasks in two parallel rings (no
 * object per task, so a busy engine does not feed the garbage collector).
 *
 * @example
 * ```ts ignore
 * const log = new CompletionLog(100_000);
 * engine.on((event) => log.observe(event));
 * log.since(Date.now() - 60_000);
 * ```
 */
export class CompletionLog {
  readonly #capacity: number;
  readonly #ids: string[];
  readonly #finishedAt: Float64Array;
  /** Index of the oldest entry. */
  #head = 0;
  #size = 0;

  constructor(capacity = 100_000) {
    this.#capacity = capacity;
    this.#ids = new Array(capacity);
    this.#finishedAt = new Float64Array(capacity);
  }

  /** Records terminal task events; ignores the rest. */
  observe(event: ThreadFlowEvent): void {
    if (!("task" in event) || !TERMINAL_EVENT_TYPES.has(event.type)) return;
    let slot: number;
    if (this.#size < this.#capacity) {
      slot = (this.#head + this.#size) % this.#capacity;
      this.#size++;
    } else {
      slot = this.#head;
      this.#head = (this.#head + 1) % this.#capacity;
    }
    this.#ids[slot] = event.task.id;
    this.#finishedAt[slot] = event.task.finishedAt ?? event.at;
  }

  /** Tasks that finished after `afterMs` (ms since epoch), oldest first. */
  since(afterMs: number): Completion[] {
    // Entries are in finishing order, so the first one after `afterMs` is found by search.
    let low = 0;
    let high = this.#size;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#finishedAt[(this.#head + middle) % this.#capacity] <= afterMs) low = middle + 1;
      else high = middle;
    }
    const completions: Completion[] = [];
    for (let i = low; i < this.#size; i++) {
      const slot = (this.#head + i) % this.#capacity;
      completions.push({ id: this.#ids[slot], finishedAt: this.#finishedAt[slot] });
    }
    return completions;
  }
}
