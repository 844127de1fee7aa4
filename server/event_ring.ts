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
 * Keeps the last `capacity` events in `seq` order, and none that was older
 * than `maxAgeMs` when the latest one arrived (old ones leave as new ones come;
 * a quiet ring keeps what it has): each event holds its task's snapshot, so a ring that only
 * counted would hold tens of MiB once full and take as many minutes to fill
 * at a quiet rate (memory creeping up for most of an hour); with the age
 * bound it is full after `maxAgeMs` and stays that size.
 *
 * @example
 * ```ts
 * import { EventRing } from "./event_ring.ts";
 * const ring = new EventRing(100_000, 120_000);
 * ```
 */
export class EventRing {
  readonly capacity: number;
  readonly maxAgeMs: number;
  #slots: (ThreadFlowEvent | undefined)[];
  /** When each slot's event was pushed (`performance.now()`: a wall-clock jump empties nothing). */
  #pushedAt: Float64Array;
  /** Index of the oldest event in `#slots`. */
  #head = 0;
  #size = 0;
  /** `seq` of the last event passed over ({@linkcode EventRing.skip}): the latest while empty. */
  #skipped = 0;

  constructor(capacity: number, maxAgeMs = Infinity) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Ring capacity must be a positive integer: received ${capacity}.`);
    }
    if (!(maxAgeMs > 0)) {
      throw new RangeError(`Ring age must be a positive number of ms: received ${maxAgeMs}.`);
    }
    this.capacity = capacity;
    this.maxAgeMs = maxAgeMs;
    this.#slots = new Array(capacity);
    this.#pushedAt = new Float64Array(capacity);
  }

  /** Number of events held. */
  get size(): number {
    return this.#size;
  }

  /** `seq` of the newest event held or, when none is, of the last passed over (`0` before any). */
  get latestSeq(): number {
    if (this.#size === 0) return this.#skipped;
    return this.#slots[(this.#head + this.#size - 1) % this.capacity]!.seq;
  }

  /** `seq` of the oldest event held, or `0` when empty. */
  get oldestSeq(): number {
    return this.#size === 0 ? 0 : this.#slots[this.#head]!.seq;
  }

  #at(index: number): ThreadFlowEvent {
    return this.#slots[(this.#head + index) % this.capacity]!;
  }

  /** Appends an event, dropping the oldest when full and those older than `maxAgeMs`. */
  push(event: ThreadFlowEvent, now = performance.now()): void {
    const oldest = now - this.maxAgeMs;
    while (this.#size > 0 && this.#pushedAt[this.#head] < oldest) {
      this.#slots[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.capacity;
      this.#size--;
    }
    let slot: number;
    if (this.#size < this.capacity) {
      slot = (this.#head + this.#size) % this.capacity;
      this.#size++;
    } else {
      slot = this.#head;
      this.#head = (this.#head + 1) % this.capacity;
    }
    this.#slots[slot] = event;
    this.#pushedAt[slot] = now;
  }

  /**
   * Passes over the event numbered `seq` when no client could ask for it
   * again: drops every event held and keeps only the latest `seq`, so a
   * resume from before it asks for a resync.
   */
  skip(seq: number): void {
    if (this.#size > 0) {
      this.#slots.fill(undefined);
      this.#head = 0;
      this.#size = 0;
    }
    this.#skipped = seq;
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
