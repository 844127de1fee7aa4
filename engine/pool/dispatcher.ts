/**
 * The pool's dispatch policy: what each worker holds. Jobs a worker can
 * start at once go to the least loaded worker; quick jobs may also wait
 * ahead in a worker (prefetch), but never behind a long job, never ahead of
 * a more urgent job, and only as long as no other worker is idle: a job that
 * has not started is taken back through its claim cell and goes where it
 * starts sooner.
 *
 * @module
 */

import { MAX_PRIORITY } from "../model/limits.ts";
import type { InterruptCause, PoolHooks } from "./hooks.ts";
import { StartWatch } from "./start_watch.ts";
import type { Held, PoolJob, Slot } from "./slot.ts";
import type { Isolation } from "./worker_handle.ts";

/** Most expected work (ms) that may wait, unstarted, in one worker. */
export const PREFETCH_BUDGET_MS = 2;
/**
 * Expected work (ms) below which jobs are not split between workers: waking
 * a parked worker thread costs 20-60 µs of the main thread's time on the
 * machines measured, as much as a few hundred no-op tasks take to run.
 */
export const SPREAD_MIN_MS = 0.25;

/** What the dispatcher needs from its pool. */
export interface DispatchContext {
  readonly slots: readonly Slot[];
  readonly options: {
    readonly concurrency: number;
    readonly dispatchBatch: number;
    readonly agingMs: number;
  };
  readonly hooks: PoolHooks;
  /** Whether the pool is closing: nothing is dispatched or armed then. */
  isClosed(): boolean;
  /** Permission group of a task type. */
  groupOf(type: string): number;
  /** Whether a group's workers are threads or processes (a slot runs one kind for good). */
  isolationOf(group: number): Isolation;
  /** Whether jobs of `type` run quickly enough to be sent ahead. */
  isQuick(type: string): boolean;
  /** Recent run time of `type`, ms, or `undefined` before any run. */
  typeRunMs(type: string): number | undefined;
  /** Posts held jobs to their worker. */
  send(slot: Slot, sent: Held[]): void;
  /** Records that a worker began `held` at `at` (and arms its timeout with `arm`). */
  noteStart(held: Held, at: number, arm: boolean): void;
  /** Terminates a slot's worker, reports its jobs, starts a new one. */
  replace(slot: Slot, cause: InterruptCause): void;
  /** Restarts an idle slot's worker with another permission group. */
  switchGroup(slot: Slot, group: number): void;
  /** No slot of `group`'s kind exists yet (process slots start with the first job): add them. */
  addSlots(group: number): void;
}

/**
 * Decides what each worker holds.
 *
 * @example
 * ```ts ignore
 * const dispatcher = new Dispatcher(context);
 * dispatcher.fill();
 * ```
 */
export class Dispatcher {
  #ctx: DispatchContext;
  #filling = false;
  /**
   * The clock of the fill under way (ms since epoch): one reading serves a
   * whole fill, which lasts well under a millisecond or two.
   */
  #now = 0;
  /** Notes quick jobs' starts from the claim cells (the pool calls it too). */
  readonly starts: StartWatch;

  constructor(context: DispatchContext) {
    this.#ctx = context;
    this.starts = new StartWatch(context);
  }

  /** Clears the start watch timer (the pool closes). */
  close(): void {
    this.starts.close();
  }

  /** Gives free worker capacity to waiting jobs. Cheap to call often. */
  fill(): void {
    if (this.#ctx.isClosed() || this.#filling) return;
    this.#filling = true;
    this.#now = Date.now();
    try {
      // Each round serves the most urgent job's permission group. Taking jobs back makes room
      // for a more urgent one; it never undoes a dispatch, so the rounds always make progress.
      for (let round = 0; round <= this.#ctx.slots.length * 4 + MAX_PRIORITY; round++) {
        const next = this.#ctx.hooks.peek(this.#now);
        if (next === undefined) {
          this.#balance();
          break;
        }
        const group = this.#ctx.groupOf(next.type);
        const slot = this.#leastLoaded(group);
        if (slot === undefined) {
          this.#switchIdleWorker(group);
          break;
        }
        // Order by urgency across workers: a more urgent job waiting unstarted in another
        // worker goes first; less urgent ones waiting unstarted anywhere go back to the queue.
        const urgency = this.#urgency(next);
        if (this.#takeBackAbove(urgency, slot)) continue;
        if (this.#takeBackBelow(urgency)) continue;
        // A more urgent job was just sent to a worker with room: it starts first. A parked worker
        // takes a millisecond or two to wake, in which `slot` would start this one; the worker's
        // report (its start or its outcome) fills again.
        if (this.#sentAbove(urgency, slot)) break;
        if (!this.#dispatch(slot, next, group)) break;
      }
    } finally {
      this.#filling = false;
    }
  }

  /**
   * Tasks as urgent as `priority` are coming (just submitted, on their way
   * from a shared store): takes back every less urgent job not started yet,
   * so none starts before them.
   */
  makeWay(priority: number): void {
    // Also the jobs a worker with room was just sent: until its worker claims one, it has not
    // started, and an urgent task arriving now must start first.
    if (!this.#ctx.isClosed()) this.#takeBackBelow(priority, true);
  }

  /**
   * Takes back every job not started yet (to the front of the queue), or
   * those of type `type`: draining begins, or the type was paused or limited.
   */
  recall(type?: string): void {
    const taken: PoolJob[] = [];
    for (const slot of this.#ctx.slots) {
      if (slot.pending === 0) continue;
      for (const held of slot.each()) {
        if (held.startedAt === null && (type === undefined || held.job.type === type)) {
          this.takeBack(held, taken);
        }
      }
    }
    if (taken.length > 0) this.#ctx.hooks.giveBack(taken.sort(byPriorityThenAge));
  }

  /**
   * Sends `slot` the jobs it can start now and, when they are quick, the
   * jobs it may hold ahead. Returns whether anything was sent.
   */
  #dispatch(slot: Slot, first: PoolJob, group: number): boolean {
    const { concurrency } = this.#ctx.options;
    const urgency = this.#urgency(first);
    const startNow = Math.max(0, concurrency - slot.load);
    const prefetch = this.#prefetchRoom(slot, first, urgency);
    if (startNow === 0 && prefetch === 0) return false;
    const sent: Held[] = [];
    for (
      let next: PoolJob | undefined = first;
      next !== undefined;
      next = this.#ctx.hooks.peek(this.#now)
    ) {
      if (this.#ctx.groupOf(next.type) !== group) break;
      const immediate = sent.length < startNow;
      if (!immediate) {
        if (sent.length >= startNow + prefetch) break;
        if (!this.#canWait(next, urgency)) break;
      }
      const held = slot.hold(next, this.#ctx.isQuick(next.type));
      if (held === undefined) break;
      this.#ctx.hooks.take(this.#now);
      sent.push(held);
    }
    if (sent.length === 0) return false;
    this.#ctx.send(slot, sent);
    return true;
  }

  /** How many jobs beyond what it can start `slot` may hold ahead, `first` being the next. */
  #prefetchRoom(slot: Slot, first: PoolJob, urgency: number): number {
    const { dispatchBatch, concurrency } = this.#ctx.options;
    if (dispatchBatch <= 1 || slot.slow > 0 || !this.#canWait(first, urgency)) return 0;
    // Never ahead of a more urgent job that waits unstarted elsewhere.
    for (const other of this.#ctx.slots) {
      if (other !== slot && this.#pendingBeyond(other, urgency, 1)) return 0;
    }
    const average = this.#ctx.typeRunMs(first.type)!;
    const budget = Math.floor(PREFETCH_BUDGET_MS / Math.max(average, 0.001));
    const backlog = this.#ctx.hooks.backlog();
    // Split among the workers only work that is worth waking another one for.
    const share = backlog * average <= SPREAD_MIN_MS
      ? backlog
      : Math.ceil(backlog / this.#ctx.slots.length);
    const room = Math.min(2 * dispatchBatch, share, budget) - Math.max(0, slot.load - concurrency);
    return Math.max(0, room);
  }

  /** Whether `job` may wait unstarted in a worker: quick, its bytes not moved, not less urgent. */
  #canWait(job: PoolJob, urgency: number): boolean {
    return this.#ctx.isQuick(job.type) && !(job.payload instanceof Uint8Array) &&
      this.#urgency(job) >= urgency;
  }

  /** A job's priority as the queue orders it now: with aging, raised by its wait. */
  #urgency(job: PoolJob): number {
    const { agingMs } = this.#ctx.options;
    if (agingMs <= 0) return job.priority;
    const now = this.#filling ? this.#now : Date.now();
    return Math.min(MAX_PRIORITY, job.priority + Math.floor((now - job.runAt) / agingMs));
  }

  /**
   * Whether `slot` holds an unstarted job more urgent than `urgency`
   * (`direction` 1) or less urgent (`direction` -1).
   */
  #pendingBeyond(slot: Slot, urgency: number, direction: 1 | -1, any = false): boolean {
    // Only jobs waiting behind running ones count unless `any`: a worker with room starts what
    // it holds.
    if (slot.pending === 0 || (!any && slot.load <= this.#ctx.options.concurrency)) return false;
    if (this.#ctx.options.agingMs <= 0) {
      return direction > 0 ? slot.topPendingPriority() > urgency : slot.hasPendingBelow(urgency);
    }
    for (const held of slot.each()) {
      if (held.startedAt === null && (this.#urgency(held.job) - urgency) * direction > 0) {
        return true;
      }
    }
    return false;
  }

  /** The ready worker of `group` holding the fewest jobs, or `undefined`. */
  #leastLoaded(group: number): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#ctx.slots) {
      if (!slot.ready || slot.group !== group) continue;
      if (best === undefined || slot.load < best.load) best = slot;
    }
    return best;
  }

  /**
   * `slot` would start a job of `priority` while more urgent ones wait
   * unstarted in other workers: takes those back (to the front of the queue,
   * for `slot` to take next). Returns whether anything was taken back.
   */
  #takeBackAbove(urgency: number, slot: Slot): boolean {
    if (slot.load >= this.#ctx.options.concurrency) return false;
    const taken: PoolJob[] = [];
    for (const other of this.#ctx.slots) {
      if (other === slot || !this.#pendingBeyond(other, urgency, 1)) continue;
      for (const held of other.each()) {
        if (other.load <= this.#ctx.options.concurrency) break; // the rest start at once
        if (held.startedAt === null && this.#urgency(held.job) > urgency) {
          this.takeBack(held, taken);
        }
      }
    }
    if (taken.length === 0) return false;
    this.#ctx.hooks.giveBack(taken.sort(byPriorityThenAge));
    return true;
  }

  /** Whether a worker other than `slot` holds an unstarted job more urgent than `urgency`. */
  #sentAbove(urgency: number, slot: Slot): boolean {
    for (const other of this.#ctx.slots) {
      if (other !== slot && this.#pendingBeyond(other, urgency, 1, true)) return true;
    }
    return false;
  }

  /**
   * Takes back every unstarted job less urgent than `urgency`, to the front
   * of the queue: those waiting behind running jobs, or with `any` also those
   * a worker with room is about to start. Returns whether anything was taken
   * back.
   */
  #takeBackBelow(urgency: number, any = false): boolean {
    const taken: PoolJob[] = [];
    for (const slot of this.#ctx.slots) {
      if (!this.#pendingBeyond(slot, urgency, -1, any)) continue;
      for (const held of slot.each()) {
        if (held.startedAt === null && this.#urgency(held.job) < urgency) {
          this.takeBack(held, taken);
        }
      }
    }
    if (taken.length === 0) return false;
    this.#ctx.hooks.giveBack(taken.sort(byPriorityThenAge));
    return true;
  }

  /**
   * Nothing waits in the queue: a worker with room takes over half the
   * unstarted jobs of the busiest worker of its group.
   */
  #balance(): void {
    const { concurrency } = this.#ctx.options;
    for (const thief of this.#ctx.slots) {
      if (!thief.ready || thief.load >= concurrency) continue;
      let victim: Slot | undefined;
      for (const slot of this.#ctx.slots) {
        if (slot === thief || slot.group !== thief.group || slot.load <= concurrency) continue;
        if (slot.pending > 0 && (victim === undefined || slot.pending > victim.pending)) {
          victim = slot;
        }
      }
      if (victim === undefined || !this.#unstartedOver(victim, SPREAD_MIN_MS)) continue;
      const wanted = Math.max(concurrency - thief.load, Math.ceil(victim.pending / 2));
      const taken: PoolJob[] = [];
      for (const held of victim.each()) {
        if (taken.length >= wanted) break;
        if (held.startedAt === null) this.takeBack(held, taken);
      }
      if (taken.length === 0) continue;
      taken.sort(byPriorityThenAge);
      const sent: Held[] = [];
      for (const job of taken) {
        const held = thief.hold(job, this.#ctx.isQuick(job.type));
        if (held === undefined) {
          this.#ctx.hooks.giveBack(taken.slice(sent.length));
          break;
        }
        sent.push(held);
      }
      if (sent.length > 0) this.#ctx.send(thief, sent);
    }
  }

  /**
   * Whether the jobs `slot` holds and has not started are expected to run
   * longer than `limitMs` (it stops counting once they are).
   */
  #unstartedOver(slot: Slot, limitMs: number): boolean {
    let total = 0;
    for (const held of slot.each()) {
      if (held.startedAt !== null) continue;
      total += this.#ctx.typeRunMs(held.job.type) ?? PREFETCH_BUDGET_MS;
      if (total > limitMs) return true;
    }
    return false;
  }

  /** Takes `held` back if its worker has not started it (adding it to `taken`); else notes the start. */
  takeBack(held: Held, taken: PoolJob[]): void {
    const slot = held.slot;
    if (slot.claims.takeBack(held.cell, held.seq)) {
      slot.release(held);
      taken.push(held.job);
    } else if (slot.claims.started(held.cell, held.seq)) {
      this.starts.observe(held);
    }
    // Otherwise it already ran: its outcome is on its way in the worker's next report.
  }

  /**
   * No worker of `group` is ready: when one of another group of the same
   * kind (thread or process) is idle and none of `group` is starting,
   * restart it with `group`'s permissions.
   */
  #switchIdleWorker(group: number): void {
    if (
      this.#ctx.slots.some((slot) => slot.group === group && slot.worker !== null && !slot.ready)
    ) {
      return;
    }
    const kind = this.#ctx.isolationOf(group);
    if (!this.#ctx.slots.some((slot) => slot.isolation === kind)) {
      this.#ctx.addSlots(group);
      return;
    }
    const idle = this.#ctx.slots.find((slot) =>
      slot.ready && slot.group !== group && slot.load === 0 && slot.isolation === kind
    );
    if (idle === undefined) return;
    this.#ctx.switchGroup(idle, group);
  }
}

/** Most urgent first, then oldest (task ids sort by creation). */
export function byPriorityThenAge(a: PoolJob, b: PoolJob): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
