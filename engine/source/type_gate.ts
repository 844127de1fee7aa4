/**
 * Which task types may start now on this node: a paused type may not, a
 * type at its concurrency limit may not until one of its tasks ends, and a
 * rate-limited type may not until its token bucket refills (the gate wakes
 * the engine then). A task counts against its type's concurrency from the
 * moment it is handed to a worker until its run ends or it comes back.
 *
 * With a shared store the cluster-wide limits are enforced by the claims
 * (see `claimLimited`); this gate then keeps pause and concurrency on the
 * node and leaves the rate to the shared bucket.
 *
 * @module
 */

import { burstOf, type TypeControl, type TypeLimits } from "../model/type_controls.ts";
import type { TypeFilter } from "./typed_queue.ts";

/** A token bucket: `tokens` as of `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Pause, concurrency and rate per task type, for one node.
 *
 * @example
 * ```ts ignore
 * const gate = new TypeGate({
 *   enforceRate: true,
 *   wake: () => pool.fill(),
 *   heldNow: (type) => pool.heldJobs(type),
 * });
 * gate.set(control);
 * const next = queue.take(Date.now(), gate.filter);
 * if (next) gate.took(next);
 * ```
 */
export class TypeGate {
  #controls = new Map<string, TypeControl>();
  /** Tasks of controlled types handed to workers and not yet back or ended, by type. */
  #held = new Map<string, number>();
  /**
   * Which tasks are counted in `#held`: each is let go exactly once. Only
   * tasks of controlled types are counted (most engines control none, and a
   * set and a count per task cost a no-op task more than its dispatch); a
   * type that becomes controlled counts the tasks its workers hold then.
   */
  #holding = new Set<{ type: string }>();
  #heldNow: (type: string) => Iterable<{ type: string }>;
  #buckets = new Map<string, Bucket>();
  #enforceRate: boolean;
  #wake: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #now = 0;
  /** `undefined` while no type is controlled: the queue then skips the check. */
  filter: TypeFilter = undefined;

  /**
   * `heldNow(type)` lists the tasks of `type` the workers hold at this
   * moment (the pool's books): a type that becomes controlled counts them.
   */
  constructor(options: {
    enforceRate: boolean;
    wake: () => void;
    heldNow: (type: string) => Iterable<{ type: string }>;
  }) {
    this.#enforceRate = options.enforceRate;
    this.#wake = options.wake;
    this.#heldNow = options.heldNow;
  }

  /** The control of `type`, if it has one in force (paused or limited). */
  get(type: string): TypeControl | undefined {
    return this.#controls.get(type);
  }

  /** Every controlled type. */
  controlled(): TypeControl[] {
    return [...this.#controls.values()];
  }

  /** Puts `control` in force (an uncontrolled one, not paused and unlimited, is dropped). */
  set(control: TypeControl): void {
    const { type, limits, paused } = control;
    if (!paused && limits.concurrency === undefined && limits.ratePerSecond === undefined) {
      if (this.#controls.delete(type)) this.#stopCounting(type);
      this.#buckets.delete(type);
    } else {
      if (!this.#controls.has(type)) this.#startCounting(type);
      this.#controls.set(type, control);
      if (limits.ratePerSecond === undefined) this.#buckets.delete(type);
    }
    this.filter = this.#controls.size === 0 ? undefined : this.#allows;
  }

  /**
   * Call before asking the queue with {@linkcode TypeGate.filter}: the clock
   * the rate buckets are read at.
   */
  at(now: number): void {
    this.#now = now;
  }

  /** `task` was handed to a worker: it counts against its type until let go. */
  took(task: { type: string }): void {
    if (!this.#controls.has(task.type) || this.#holding.has(task)) return;
    this.#holding.add(task);
    this.#held.set(task.type, (this.#held.get(task.type) ?? 0) + 1);
    if (!this.#enforceRate) return;
    const control = this.#controls.get(task.type);
    if (control?.limits.ratePerSecond !== undefined) {
      this.#bucket(task.type, control.limits, this.#now || Date.now()).tokens -= 1;
    }
  }

  /**
   * `task` is back from its worker: its run ended, or (with `unstarted`) it
   * never started, which gives its rate token back.
   */
  released(task: { type: string }, unstarted = false): void {
    if (this.#holding.size === 0 || !this.#holding.delete(task)) return;
    const held = (this.#held.get(task.type) ?? 1) - 1;
    if (held === 0) this.#held.delete(task.type);
    else this.#held.set(task.type, held);
    if (!unstarted || !this.#enforceRate) return;
    const control = this.#controls.get(task.type);
    if (control?.limits.ratePerSecond !== undefined) {
      const bucket = this.#bucket(task.type, control.limits, Date.now());
      bucket.tokens = Math.min(burstOf(control.limits)!, bucket.tokens + 1);
    }
  }

  /** `type` becomes controlled: the tasks of it the workers hold now count from here on. */
  #startCounting(type: string): void {
    let count = 0;
    for (const task of this.#heldNow(type)) {
      if (this.#holding.has(task)) continue;
      this.#holding.add(task);
      count++;
    }
    if (count > 0) this.#held.set(type, count);
  }

  /** `type` is no longer controlled: its tasks stop counting. */
  #stopCounting(type: string): void {
    if (!this.#held.delete(type)) return;
    for (const task of this.#holding) if (task.type === type) this.#holding.delete(task);
  }

  /** Stops the refill timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #allows = (type: string): boolean => {
    const control = this.#controls.get(type);
    if (control === undefined) return true;
    if (control.paused) return false;
    const { concurrency, ratePerSecond } = control.limits;
    if (concurrency !== undefined && (this.#held.get(type) ?? 0) >= concurrency) return false;
    if (ratePerSecond === undefined || !this.#enforceRate) return true;
    const now = this.#now || Date.now();
    const bucket = this.#bucket(type, control.limits, now);
    if (bucket.tokens >= 1) return true;
    this.#wakeAt(now + Math.ceil(((1 - bucket.tokens) * 1000) / ratePerSecond));
    return false;
  };

  /** The bucket of `type`, refilled up to `now`. */
  #bucket(type: string, limits: TypeLimits, now: number): Bucket {
    const burst = burstOf(limits)!;
    let bucket = this.#buckets.get(type);
    if (bucket === undefined) {
      bucket = { tokens: burst, at: now };
      this.#buckets.set(type, bucket);
    } else if (now > bucket.at) {
      bucket.tokens = Math.min(
        burst,
        bucket.tokens + ((now - bucket.at) * limits.ratePerSecond!) / 1000,
      );
      bucket.at = now;
    }
    return bucket;
  }

  /** Wakes the engine at `at` (the earliest asked for wins). */
  #wakeAt(at: number): void {
    if (at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#wake();
    }, Math.max(0, at - Date.now()));
  }
}
