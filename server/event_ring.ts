/**
 * A bounded ring of the latest engine events, so a reconnecting WebSocket
 * client can ask for what it missed by `seq`.
 *
 * @module
 */

import type { ThreadFlowEvent } from "../engine/mod.ts";

/** What {@linkcode EventRing.since} found. */
export type SinceResult = { ok: true; events: ThreadFlowEvent[] } | { ok: false };

/**
 * Keeps the last `capacity` events in `seq` order.
 *
 * @example
 * ```ts
 * import { EventRing } from "./event_ring.ts";
 * const ring = new EventRing(100_000);
 * ```
 */
export class EventRing {
  readonly capacity: number;
  #slots: (ThreadFlowEvent | undefined)[];
  /** Index of the oldest event in `#slots`. */
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Ring capacity must be a positive integer: received ${capacity}.`);
    }
    this.capacity = capacity;
    this.#slots = new Array(capacity);
  }

  /** Number of events held. */
  get size(): number {
    return this.#size;
  }

  /** `seq` of the newest event held, or `0` when empty. */
  get latestSeq(): number {
    if (this.#size === 0) return 0;
    return this.#slots[(this.#head + this.#size - 1) % this.capacity]!.seq;
  }

  /** `seq` of the oldest event held, or `0` when empty. */
  get oldestSeq(): number {
    return this.#size === 0 ? 0 : this.#slots[this.#head]!.seq;
  }

  #at(index: number): ThreadFlowEvent {
    return this.#slots[(this.#head + index) % this.capacity]!;
  }

  /** Appends an event, dropping the oldest when full. */
  push(event: ThreadFlowEvent): void {
    if (this.#size < this.capacity) {
      this.#slots[(this.#head + this.#size) % this.capacity] = event;
      this.#size++;
    } else {
      this.#slots[this.#head] = event;
      this.#head = (this.#head + 1) % this.capacity;
    }
  }

  /**
   * The events after `seq`, oldest first; `{ ok: false }` when events after
   * `seq` were already dropped (or `seq` is from another engine run).
   */
  since(seq: number): SinceResult {
    const latest = this.latestSeq;
    if (seq === latest) return { ok: true, events: [] };
    if (seq > latest || this.#size === 0 || seq < this.oldestSeq - 1) return { ok: false };
    // Seqs only grow, so binary search finds the first event after `seq` even with gaps.
    let low = 0;
    let high = this.#size;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#at(middle).seq <= seq) low = middle + 1;
      else high = middle;
    }
    const events: ThreadFlowEvent[] = [];
    for (let i = low; i < this.#size; i++) events.push(this.#at(i));
    return { ok: true, events };
  }
}
