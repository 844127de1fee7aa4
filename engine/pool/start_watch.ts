/**
 * The starts of quick jobs, read from the claim cells: a quick job's worker
 * reports its start only with its outcome, so while it runs long the pool
 * reads the cells now and then and notes the start itself (arming the
 * timeout), never showing more jobs running than the worker runs.
 *
 * @module
 */

import type { InterruptCause } from "./hooks.ts";
import type { Held, Slot } from "./slot.ts";

/** How often unreported starts of quick jobs are read from the claim cells. */
const START_WATCH_MS = 20;

/** What the watch needs from its pool (the dispatcher's context has it all). */
export interface StartWatchContext {
  readonly slots: readonly Slot[];
  readonly options: { readonly concurrency: number };
  /** Whether the pool is closing: nothing is armed then. */
  isClosed(): boolean;
  /** Records that a worker began `held` at `at` (and arms its timeout with `arm`). */
  noteStart(held: Held, at: number, arm: boolean): void;
  /** Terminates a slot's worker, reports its jobs, starts a new one. */
  replace(slot: Slot, cause: InterruptCause): void;
}

/**
 * Notes the starts the claim cells show.
 *
 * @example
 * ```ts ignore
 * const starts = new StartWatch(context);
 * starts.watch(); // quick jobs were sent
 * ```
 */
export class StartWatch {
  #ctx: StartWatchContext;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(context: StartWatchContext) {
    this.#ctx = context;
  }

  /** Clears the timer (the pool closes). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The claim cells show `held` running. It is noted as started unless its
   * worker already has `concurrency` jobs noted: then one of those has ended
   * unreported (the cells are read while the worker runs on), and `held`
   * waits for its report, so no more jobs show as running than run.
   */
  observe(held: Held): boolean {
    const slot = held.slot;
    if (slot.running >= this.#ctx.options.concurrency) return false;
    // A job sent before it and not yet reported has ended (or runs beside it): its report
    // will note it, so noting this one now could show more running than the worker runs.
    for (const other of slot.each()) {
      if (other.startedAt === null && other !== held && sentBefore(other, held)) return false;
    }
    this.#ctx.noteStart(held, slot.claims.startedAt(held.cell), !this.#ctx.isClosed());
    return true;
  }

  /** Reads the claim cells now and then while quick jobs' starts are unreported. */
  watch(): void {
    if (this.#timer !== undefined || this.#ctx.isClosed()) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      let waiting = false;
      const now = Date.now();
      const overdue: Held[] = [];
      for (const slot of this.#ctx.slots) {
        if (slot.pending === 0) continue;
        for (const held of slot.each()) {
          if (held.startedAt !== null || !held.quick) continue;
          waiting = true;
          if (!slot.claims.started(held.cell, held.seq) || this.observe(held)) continue;
          // Running, not yet noted, its worker too busy to report: its timeout still holds.
          if (now - slot.claims.startedAt(held.cell) > held.job.timeoutMs) overdue.push(held);
        }
      }
      for (const held of overdue) {
        if (held.slot.held[held.cell] !== held) continue;
        const runMs = now - held.slot.claims.startedAt(held.cell);
        this.#ctx.replace(held.slot, {
          kind: "timeout",
          job: held.job,
          timeoutMs: held.job.timeoutMs,
          runMs,
        });
      }
      if (waiting) this.watch();
    }, START_WATCH_MS);
  }
}

/** Whether `a` was sent to its worker before `b` (sequence numbers grow, wrapping after 2^31). */
function sentBefore(a: Held, b: Held): boolean {
  const gap = b.seq - a.seq;
  return gap > 0 ? gap < 0x4000_0000 : gap < -0x4000_0000;
}
