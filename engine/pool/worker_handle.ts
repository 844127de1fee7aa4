/**
 * What runs in a worker slot, behind one interface with two kinds: a module
 * Web Worker ({@linkcode ThreadWorker}) or a Deno subprocess running the same
 * worker runtime (`ProcessWorker` in `process_worker.ts`). The pool and its
 * slots speak to either the same way; only starting, stopping and measuring
 * differ.
 *
 * @module
 */

import { ClaimCells, type Claims } from "./claims.ts";
import { WorkerThreads } from "./proc_stat.ts";

/** Finds each worker thread's OS thread, for its CPU figures and stuck-thread checks. */
const workerThreads = new WorkerThreads();

/** Finds the OS threads of the worker threads started since the last call (see `proc_stat.ts`). */
export function resolveWorkerThreads(): Promise<void> {
  return workerThreads.resolve();
}
import type { ToWorker } from "./protocol.ts";

/** How a task type's jobs are isolated: a thread of this process, or a process of its own. */
export type Isolation = "thread" | "process";

/** Every isolation mode. */
export const ISOLATIONS: readonly Isolation[] = ["thread", "process"];

/** What a worker tells its slot. */
export interface HandleEvents {
  message(data: unknown): void;
  /**
   * The worker died or cannot go on; `reason` says why in a sentence
   * fragment; `outOfMemory` when it passed its heap limit.
   */
  crashed(reason: string, outOfMemory?: boolean): void;
}

/** A running worker of either kind. */
export interface WorkerHandle {
  readonly isolation: Isolation;
  /** How the pool claims the jobs this worker holds. */
  readonly claims: Claims;
  /** The worker process's id, or `null` for a thread. */
  readonly pid: number | null;
  /** The OS thread of a worker thread (`/proc/self/task/<tid>`), or `null` (a process, or unknown). */
  readonly tid: number | null;
  /** Sends a message; throws what cannot be sent (the caller fails only the jobs at fault). */
  post(message: ToWorker, transfer?: Transferable[]): void;
  /** Stops the worker at once (a process is killed; a thread is asked to terminate). */
  terminate(): void;
  /** Resolves once the worker is gone and its resources are released. */
  closed(): Promise<void>;
}

/**
 * A module Web Worker sharing claim cells with the pool.
 *
 * @example
 * ```ts ignore
 * const handle = new ThreadWorker(entry, { type: "module" }, 4, events);
 * handle.post({ kind: "init", slot: 0, concurrency: 1, capacity: 4,
 *   cells: handle.claims.cells, starts: handle.claims.starts });
 * ```
 */
export class ThreadWorker implements WorkerHandle {
  readonly isolation = "thread";
  readonly claims: ClaimCells;
  readonly pid = null;
  /** Its OS thread, once found (`null` until then, or when it cannot be read). */
  tid: number | null = null;
  #worker: Worker;

  constructor(entry: string, options: WorkerOptions, capacity: number, events: HandleEvents) {
    this.claims = new ClaimCells(capacity);
    const worker = new Worker(entry, options);
    this.#worker = worker;
    workerThreads.track((tid) => this.tid = tid);
    worker.onmessage = (event: MessageEvent) => events.message(event.data);
    worker.onerror = (event: ErrorEvent) => {
      // Handled here: an uncaught error in a worker must not take the process down.
      event.preventDefault();
      events.crashed(event.message || "an uncaught error");
    };
    worker.onmessageerror = () => events.crashed("a message could not be read");
  }

  post(message: ToWorker, transfer?: Transferable[]): void {
    // Without a transfer list Deno takes a faster path.
    if (transfer === undefined || transfer.length === 0) this.#worker.postMessage(message);
    else this.#worker.postMessage(message, transfer);
  }

  terminate(): void {
    this.#worker.terminate();
  }

  closed(): Promise<void> {
    return Promise.resolve();
  }
}
