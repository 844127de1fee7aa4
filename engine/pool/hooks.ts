/**
 * The pool's seam with the engine: the hooks it calls back, the job it
 * runs, and why a worker's jobs were taken from it.
 *
 * @module
 */

import type { WorkerEventType, WorkerInfo } from "../model/events.ts";
import type { ProgressValue } from "../model/task.ts";
import type { NormalizedPermissions } from "./permissions.ts";
import type { PoolJob } from "./slot.ts";
import type { StuckThread } from "./stuck_threads.ts";
import type { Isolation } from "./worker_handle.ts";

export type { PoolJob } from "./slot.ts";

/** Why a worker's started jobs were taken from it. */
export type InterruptCause =
  | { kind: "timeout"; job: PoolJob; timeoutMs: number; runMs: number }
  | { kind: "cancelled"; job: PoolJob }
  | { kind: "crashed"; reason: string; outOfMemory?: boolean }
  | { kind: "shutdown" };

/** How the pool talks back to the engine. */
export interface PoolHooks {
  /**
   * The most urgent ready job as of `now` (ms since epoch), without taking
   * it; `undefined` when none waits.
   */
  peek(now: number): PoolJob | undefined;
  /** Takes the job {@linkcode PoolHooks.peek} returned (given the same `now`). */
  take(now: number): PoolJob;
  /** How many jobs wait for a worker. */
  backlog(): number;
  /** Jobs taken but never started come back; they go to the front of the queue. */
  giveBack(jobs: PoolJob[]): void;
  /** A worker began `job` at `startedAt` (ms since epoch). */
  started(job: PoolJob, slot: number, startedAt: number): void;
  /** `job` ended in its worker: `value` is its result (`ok`) or a `TaskError`. */
  settled(
    job: PoolJob,
    ok: boolean,
    value: unknown,
    finishedAt: number,
    runMs: number,
    payload?: Uint8Array,
  ): void;
  /** A worker was replaced while running these started jobs. */
  interrupted(jobs: PoolJob[], cause: InterruptCause): void;
  /**
   * A run that was cancelled (see `WorkerPool.cancel`) ended, or
   * its worker went: nothing of it counts (the task may be running again in
   * a new run). `payload` is a byte payload it moved back.
   */
  dropped(job: PoolJob, payload?: Uint8Array): void;
  progress(job: PoolJob, value: ProgressValue): void;
  workerEvent(type: WorkerEventType, worker: WorkerInfo, reason?: string): void;
  /**
   * A terminated worker thread keeps running (see `stuck_threads.ts`);
   * `switched` lists the types that now run in worker processes.
   */
  threadStuck?(thread: StuckThread, switched: string[]): void;
}

/** Task types whose workers share one set of permissions and one isolation. */
export interface WorkerGroup {
  /** Deno permissions of the group's workers. */
  permissions: NormalizedPermissions;
  /** Threads of this process, or processes of their own. */
  isolation: Isolation;
  /** A worker process's V8 heap limit, MB (threads have none). */
  memoryLimitMb: number;
  /** Task type name → module URL. */
  types: Record<string, string>;
}

/** Options for the pool (`WorkerPool` in `pool.ts`). */
export interface WorkerPoolOptions {
  size: number;
  concurrency: number;
  /** Most jobs sent to one worker at once when they are quick; 1 turns prefetch off. */
  dispatchBatch: number;
  cancelGraceMs: number;
  nodeId: string;
  /** Permission groups; every slot starts in the first. */
  groups: WorkerGroup[];
  /** Run workers with their group's permissions (`true`) or inherit this process's. */
  sandbox: boolean;
  /** A waiting job gains a level per this many ms (as in the queue); 0 is off. */
  agingMs: number;
  /** Heap limit of worker processes started for types found stuck in threads, MB. */
  memoryLimitMb: number;
  /**
   * Keep a warm spare process per permission group that has process slots,
   * so a killed process slot is ready again at once (see
   * `process_spares.ts`). Default `true`.
   */
  spareProcesses?: boolean;
  hooks: PoolHooks;
}
