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

/** Which completions {@linkcode CompletionLog.newest} answers. */
export interface NewestOptions {
  /** Most completions answered. Default 100. */
  limit?: number;
  /**
   * Only tasks whose finishing second (`Math.floor(finishedAt / 1000)`) is
   * after this Unix second, as the original compared whole seconds. Default 0.
   */
  afterSecond?: number;
  /**
   * Only tasks that finished after the task with this id. An id the log does
   * not hold (never seen, or forgotten) is ignored, so the newest are answered.
   */
  afterId?: string;
}

/**
 * Remembers the last `capacity` finished tasks in two parallel rings (no
 * object per task, so a busy engine does not feed the garbage collector).
 *
 * @example
 * ```ts ignore
 * const log = new CompletionLog(100_000);
 * engine.on((event) => log.observe(event));
 * log.newest({ limit: 100, afterSecond: Math.floor(Date.now() / 1000) - 60 });
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

  /**
   * The newest completions, newest first, that match `options`. It walks from
   * the newest entry and stops at `limit`, so an answer costs at most `limit`
   * steps whatever the log holds: when `afterId` is not among the newest
   * `limit`, the answer is those `limit` either way.
   */
  newest(options: NewestOptions = {}): Completion[] {
    const limit = options.limit ?? 100;
    const afterSecond = options.afterSecond ?? 0;
    const completions: Completion[] = [];
    for (let i = this.#size - 1; i >= 0 && completions.length < limit; i--) {
      const slot = (this.#head + i) % this.#capacity;
      const id = this.#ids[slot];
      const finishedAt = this.#finishedAt[slot];
      if (id === options.afterId) break;
      // Entries are in finishing order: once one is too old, every older one is too.
      if (Math.floor(finishedAt / 1000) <= afterSecond) break;
      completions.push({ id, finishedAt });
    }
    return completions;
  }
}
