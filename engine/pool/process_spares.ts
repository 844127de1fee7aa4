/**
 * Warm spare worker processes: one per permission group that has process
 * slots, started ahead of time, so a process slot whose worker was killed
 * (a timeout, a cancel past grace, out of memory, a crash) gets a process
 * that has already booted Deno and loaded its modules, and only waits for
 * its `init`. Booting is most of a process slot's start (about 60 of 70 ms
 * on an idle machine, and far more under load); the init handshake left is
 * about 10 ms.
 *
 * A spare is an ordinary {@linkcode ProcessWorker} whose events go nowhere
 * until a slot takes it: what it says before then (only an `exiting` when its
 * modules fail to load) is kept and told to the slot that takes it. A spare
 * that dies untaken is dropped; the next respawn of its group then starts
 * cold and starts a new spare. So spares never respawn themselves, and a
 * group whose processes keep dying costs one process per respawn, as it
 * would without spares.
 *
 * @module
 */

import { type ProcessSpec, ProcessWorker } from "./process_worker.ts";
import type { HandleEvents, WorkerHandle } from "./worker_handle.ts";

/** A spare process and where its events go once a slot takes it. */
interface Spare {
  worker: ProcessWorker;
  /** The taking slot's events; `null` while spare. */
  events: HandleEvents | null;
  /** Messages it sent while spare, for the slot that takes it. */
  early: unknown[];
  /** It died while spare. */
  dead: boolean;
}

/**
 * Spare worker processes by permission group.
 *
 * @example
 * ```ts ignore
 * const spares = new ProcessSpares();
 * spares.keep(1, spec);                    // a spare for group 1 boots in the background
 * const worker = spares.take(1, events);   // later: that spare, or `undefined`
 * await spares.close();
 * ```
 */
export class ProcessSpares {
  #spares = new Map<number, Spare>();
  /** Spares stopped but maybe not reaped yet. */
  #stopping = new Set<ProcessWorker>();
  #closed = false;

  /** Whether `group` has a live spare. */
  has(group: number): boolean {
    const spare = this.#spares.get(group);
    return spare !== undefined && !spare.dead;
  }

  /**
   * The spare of `group`, now telling `events`, or `undefined` when it has
   * none alive (start a process as usual then).
   */
  take(group: number, events: HandleEvents): WorkerHandle | undefined {
    const spare = this.#spares.get(group);
    if (spare === undefined) return undefined;
    this.#spares.delete(group);
    if (spare.dead) return undefined;
    spare.events = events;
    const early = spare.early.splice(0);
    // Told once the slot has it as its worker (later in this turn), as a new process's would be.
    if (early.length > 0) queueMicrotask(() => early.forEach((message) => events.message(message)));
    return spare.worker;
  }

  /**
   * Starts a spare for `group` running `spec` when it has none. Throws what
   * starting a process throws (the executable is gone, a limit is hit).
   */
  keep(group: number, spec: ProcessSpec): void {
    if (this.#closed || this.has(group)) return;
    const spare: Spare = { worker: null!, events: null, early: [], dead: false };
    spare.worker = new ProcessWorker(spec, {
      message: (data) => {
        if (spare.events !== null) spare.events.message(data);
        else spare.early.push(data);
      },
      crashed: (reason, outOfMemory) => {
        if (spare.events !== null) spare.events.crashed(reason, outOfMemory);
        else spare.dead = true;
      },
    });
    this.#spares.set(group, spare);
  }

  /** Stops the spares of groups not in `groups` (no process slot runs them any more). */
  retain(groups: ReadonlySet<number>): void {
    for (const [group, spare] of this.#spares) {
      if (!groups.has(group)) this.#stop(group, spare);
    }
  }

  /** Stops every spare; resolves once their processes are reaped. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [group, spare] of this.#spares) this.#stop(group, spare);
    await Promise.all([...this.#stopping].map((worker) => worker.closed()));
  }

  #stop(group: number, spare: Spare): void {
    this.#spares.delete(group);
    spare.worker.terminate();
    this.#stopping.add(spare.worker);
    spare.worker.closed().then(() => this.#stopping.delete(spare.worker));
  }
}
