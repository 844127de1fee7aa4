/**
 * What happens to a worker's jobs when it is terminated (timeout, cancel
 * grace, crash, shutdown): jobs it had not started go back to the queue;
 * started ones are interrupted, each under the cause; cancelled runs are
 * dropped.
 *
 * @module
 */

import { byPriorityThenAge } from "./dispatcher.ts";
import type { InterruptCause, PoolHooks, PoolJob } from "./hooks.ts";
import type { Held, Slot } from "./slot.ts";

/** A terminated worker's jobs, by what became of them. */
export interface SplitJobs {
  /** Noted as started. */
  started: PoolJob[];
  /** Never started (taken back through their claim cells). */
  notStarted: PoolJob[];
  /** Started in the worker, not yet noted: running, or ended with the outcome unreported. */
  ended: Array<{ job: PoolJob; startedAt: number }>;
  /** Cancelled runs: they no longer count. */
  dropped: PoolJob[];
}

/**
 * Sorts the jobs `slot` holds before its worker is terminated. `forget`
 * clears each started run's deadlines.
 */
export function splitHeld(slot: Slot, forget: (held: Held) => void): SplitJobs {
  const started: PoolJob[] = [];
  const notStarted: PoolJob[] = [];
  const ended: Array<{ job: PoolJob; startedAt: number }> = [];
  const dropped: PoolJob[] = [];
  for (const held of slot.each()) {
    if (held.startedAt === null && slot.claims.takeBack(held.cell, held.seq)) {
      slot.release(held);
      notStarted.push(held.job);
      continue;
    }
    forget(held);
    if (held.cancelling) dropped.push(held.job);
    else if (held.startedAt !== null) started.push(held.job);
    else ended.push({ job: held.job, startedAt: Math.round(slot.claims.startedAt(held.cell)) });
  }
  return { started, notStarted: notStarted.sort(byPriorityThenAge), ended, dropped };
}

/** Tells the engine what became of a terminated slot's jobs. */
export function reportSplit(
  hooks: PoolHooks,
  slotId: number,
  split: SplitJobs,
  cause: InterruptCause,
): void {
  const { started, notStarted, ended, dropped } = split;
  for (const job of dropped) hooks.dropped(job);
  if (notStarted.length > 0) hooks.giveBack(notStarted);
  if (started.length > 0) hooks.interrupted(started, cause);
  // One at a time, so no more show as running than the worker ran.
  for (const { job, startedAt } of ended) {
    hooks.started(job, slotId, startedAt);
    hooks.interrupted([job], cause);
  }
}

/** The `reason` of a `worker.exited` event. */
export function exitReason(cause: InterruptCause): string {
  switch (cause.kind) {
    case "timeout":
      return "timeout";
    case "cancelled":
      return "cancel-grace";
    case "crashed":
      return `crashed: ${cause.reason}`;
    case "shutdown":
      return "shutdown";
  }
}
