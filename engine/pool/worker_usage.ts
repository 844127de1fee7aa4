/**
 * The CPU and memory of a pool's workers, for listings: read from `/proc`
 * (or `ps` where `/proc` is closed) in the background, at most once a
 * second, so a listing shows the last reading and never holds the event
 * loop.
 *
 * @module
 */

import { processesUsage, type ProcUsage, threadsUsage } from "./proc_stat.ts";
import type { Slot } from "./slot.ts";
import { resolveWorkerThreads, type WorkerHandle } from "./worker_handle.ts";

/** Workers' CPU and memory are read again when a listing finds the last reading older than this. */
const USAGE_REFRESH_MS = 1_000;

/**
 * The last reading of the workers of `slots`.
 *
 * @example
 * ```ts ignore
 * const usage = new WorkerUsage(slots);
 * usage.refresh();
 * const figures = usage.of(slots[0].worker); // the previous reading, or null
 * ```
 */
export class WorkerUsage {
  readonly #slots: readonly Slot[];
  #at = -Infinity;
  #processes = new Map<number, ProcUsage>();
  #threads = new Map<number, ProcUsage>();
  #reading = false;

  constructor(slots: readonly Slot[]) {
    this.#slots = slots;
  }

  /** Reads every worker again, in the background, when the last reading is over a second old. */
  refresh(): void {
    if (this.#reading || performance.now() - this.#at < USAGE_REFRESH_MS) return;
    this.#reading = true;
    this.#read().finally(() => this.#reading = false);
  }

  /** `worker`'s figures in the last reading, or `null` (not read yet, or unreadable). */
  of(worker: WorkerHandle | null): ProcUsage | null {
    if (worker === null) return null;
    if (worker.pid !== null) return this.#processes.get(worker.pid) ?? null;
    if (worker.tid !== null) return this.#threads.get(worker.tid) ?? null;
    return null;
  }

  async #read(): Promise<void> {
    await resolveWorkerThreads();
    const pids: number[] = [];
    const tids: number[] = [];
    for (const slot of this.#slots) {
      if (slot.worker?.pid != null) pids.push(slot.worker.pid);
      if (slot.worker?.tid != null) tids.push(slot.worker.tid);
    }
    const [processes, threads] = await Promise.all([processesUsage(pids), threadsUsage(tids)]);
    this.#at = performance.now();
    this.#processes = processes;
    this.#threads = threads;
  }
}
