/**
 * A bounded log of recently finished tasks, in finishing order, for the
 * original ThreadFlow's `GET /completed_tasks?since=`.
 *
 * @module
 */

import type { ThreadFlowEvent } from "../engine/events.ts";
import { TERMINAL_EVENT_TYPES } from "../engine/events.ts";

/** One finished task. */
export interface Completion {
  id: string;
  /** ms since epoch. */
  finishedAt: number;
}

/**
 * Remembers the last `capacity` finished tasks.
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
  #entries: Completion[] = [];

  constructor(capacity = 100_000) {
    this.#capacity = capacity;
  }

  /** Records terminal task events; ignores the rest. */
  observe(event: ThreadFlowEvent): void {
    if (!("task" in event) || !TERMINAL_EVENT_TYPES.has(event.type)) return;
    this.#entries.push({ id: event.task.id, finishedAt: event.task.finishedAt ?? event.at });
    // Drop in chunks so trimming stays cheap.
    if (this.#entries.length > this.#capacity * 1.25) {
      this.#entries = this.#entries.slice(this.#entries.length - this.#capacity);
    }
  }

  /** Tasks that finished after `afterMs` (ms since epoch), oldest first. */
  since(afterMs: number): Completion[] {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#entries[middle].finishedAt <= afterMs) low = middle + 1;
      else high = middle;
    }
    return this.#entries.slice(low);
  }
}
