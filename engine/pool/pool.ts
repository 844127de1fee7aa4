/**
 * The worker pool: `size` slots whose workers are module Web Workers, and
 * as many again whose workers are Deno subprocesses once a task type runs in
 * processes (see `worker_handle.ts`). The pool decides what each worker
 * holds, learns exactly when each job starts, enforces timeouts and cancel
 * grace periods (a process is SIGKILLed), and replaces any worker that dies.
 * It knows nothing of queues, stores or HTTP: the engine feeds it through
 * {@linkcode PoolHooks}.
 *
 * **Prefetch without blocking.** A worker gets jobs beyond what it can start
 * at once only when every job it holds is of a type whose recent run time is
 * under {@linkcode QUICK_MS}, the job's payload can be taken back (no moved
 * bytes), and no job of a higher priority waits unstarted anywhere; at most
 * {@linkcode PREFETCH_BUDGET_MS} of such work waits in one worker. A job that
 * has not started can be taken back at any moment through its claim cell
 * (see `claims.ts`), so when a worker runs dry while another still holds
 * unstarted jobs, half of those move over at once, and a more urgent job
 * takes precedence over every less urgent one that has not started.
 *
 * @module
 */

import type { WorkerInfo } from "../model/events.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { InterruptCause, PoolHooks, PoolJob, WorkerPoolOptions } from "./hooks.ts";
import {
  type FromWorker,
  OutcomeReader,
  type Report,
  type Settlement,
  toFraction,
  toTaskError,
} from "./protocol.ts";
import { exitReason, reportSplit, splitHeld } from "./interrupt.ts";
import { RunDeadlines } from "./run_deadlines.ts";
import { TypeRunTimes } from "./run_times.ts";
import { type Held, heldJobsOf, pendingDepth, type Slot } from "./slot.ts";
import { SlotWorkers } from "./slot_workers.ts";
import type { StuckThread } from "./stuck_threads.ts";
import type { WorkerHandle } from "./worker_handle.ts";
import { WorkerUsage } from "./worker_usage.ts";

export type {
  InterruptCause,
  PoolHooks,
  PoolJob,
  WorkerGroup,
  WorkerPoolOptions,
} from "./hooks.ts";
export { QUICK_MS } from "./run_times.ts";

/**
 * Runs jobs on module workers.
 *
 * @example
 * ```ts ignore
 * const pool = new WorkerPool({ size: 2, concurrency: 1, dispatchBatch: 256, cancelGraceMs: 1000,
 *   nodeId: "n1", sandbox: true, groups: [{ permissions: NO_PERMISSIONS, types }], hooks });
 * await pool.start();
 * pool.fill();
 * await pool.close();
 * ```
 */
export class WorkerPool {
  #options: WorkerPoolOptions;
  #hooks: PoolHooks;
  #slots: Slot[] = [];
  #deadlines: RunDeadlines;
  #runTimes = new TypeRunTimes();
  #closed = false;
  #dispatcher: Dispatcher;
  #workers: SlotWorkers;
  #usage = new WorkerUsage(this.#slots);
  /** While starting: fails the start when a worker dies before it is ready. */
  #startFailed: ((error: Error) => void) | null = null;
  readonly #events = {
    message: (slot: Slot, worker: WorkerHandle, data: unknown) =>
      this.#onMessage(slot, worker, data as FromWorker),
    crashed: (slot: Slot, worker: WorkerHandle, reason: string, outOfMemory?: boolean) => {
      if (slot.worker === worker) {
        this.#replace(slot, { kind: "crashed", reason, ...(outOfMemory ? { outOfMemory } : {}) });
      }
    },
  };

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#hooks = options.hooks;
    this.#workers = new SlotWorkers(this.#slots, {
      size: options.size,
      concurrency: options.concurrency,
      capacity: this.#capacityPerSlot,
      groups: options.groups,
      sandbox: options.sandbox,
      memoryLimitMb: options.memoryLimitMb,
      spareProcesses: options.spareProcesses ?? true,
      events: this.#events,
      exited: (slot, reason) =>
        this.#hooks.workerEvent("worker.exited", slot.info(options.nodeId), reason),
      onStuck: (thread) => this.#onStuck(thread),
    });
    this.#dispatcher = new Dispatcher({
      slots: this.#slots,
      options,
      hooks: options.hooks,
      isClosed: () => this.#closed,
      groupOf: (type) => this.#workers.groupOf(type),
      isolationOf: (group) => this.#workers.isolationOf(group),
      addSlots: (group) => this.#workers.addProcessSlots(group),
      isQuick: (type) => this.isQuick(type),
      typeRunMs: (type) => this.#runTimes.of(type),
      send: (slot, sent) => this.#send(slot, sent),
      noteStart: (held, at, arm) => this.#noteStart(held, at, arm),
      replace: (slot, cause) => this.#replace(slot, cause),
      switchGroup: (slot, group) => this.#workers.switchGroup(slot, group),
    });
    this.#deadlines = new RunDeadlines((held, cause) => this.#replace(held.slot, cause));
  }

  /** Starts every worker; rejects naming the task modules that cannot be used. */
  async start(): Promise<void> {
    this.#workers.checkCanStart();
    const failed = new Promise<never>((_, reject) => this.#startFailed = reject);
    const readies = this.#workers.addThreadSlots();
    let invalid: Array<{ type: string; url: string; reason: string }>;
    try {
      invalid = (await Promise.race([Promise.all(readies), failed]))[0];
    } catch (error) {
      await this.close();
      throw error;
    } finally {
      this.#startFailed = null;
    }
    if (invalid.length > 0) {
      await this.close();
      const problems = invalid.map((m) => `${m.url}: ${m.reason}`).join("; ");
      throw new Error(`Task modules cannot be used as task types: ${problems}.`);
    }
  }

  /** Jobs workers are running (known started, not settled). */
  get running(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.running, 0);
  }

  /** Jobs workers hold, started or not. */
  get held(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.load, 0);
  }

  /** Jobs workers hold that have not started. */
  get pending(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.pending, 0);
  }

  /** Unstarted jobs per level, keyed "1".."10", and when each level's oldest became ready. */
  pendingDepth(): ReturnType<typeof pendingDepth> {
    return pendingDepth(this.#slots);
  }

  /** The jobs of `type` the workers hold now, started or not. */
  heldJobs(type: string): PoolJob[] {
    return heldJobsOf(this.#slots, type);
  }

  /** Gives free worker capacity to waiting jobs. Cheap to call often. */
  fill(): void {
    this.#dispatcher.fill();
  }

  /**
   * Tasks as urgent as `priority` are coming (just submitted, on their way
   * from a shared store): takes back every less urgent job not started yet,
   * so none starts before them.
   */
  makeWay(priority: number): void {
    this.#dispatcher.makeWay(priority);
  }

  /**
   * Takes back every job not started yet (to the front of the queue), or
   * only those of `type` (it was paused or limited).
   */
  recall(type?: string): void {
    if (!this.#closed) this.#dispatcher.recall(type);
  }

  /** Whether the pool holds `id` (started or not). */
  holds(id: string): boolean {
    return this.#find(id) !== undefined;
  }

  /** The held job of task `id` (a scan: only cancels ask). */
  #find(id: string): Held | undefined {
    for (const slot of this.#slots) {
      for (const held of slot.each()) {
        // A retried task may have an old run still stopping: the current one is wanted.
        if (held.job.id === id && !held.cancelling) return held;
      }
    }
    return undefined;
  }

  /** Most jobs all workers can run at once (thread slots, and process slots once there are). */
  get capacity(): number {
    return this.#slots.length * this.#options.concurrency;
  }

  /** Claim cells per slot: what it runs at once, and what may wait ahead in it. */
  get #capacityPerSlot(): number {
    const { concurrency, dispatchBatch } = this.#options;
    return concurrency + (dispatchBatch > 1 ? 2 * dispatchBatch : 0);
  }

  /** Whether jobs of `type` run quickly enough to be sent ahead. */
  isQuick(type: string): boolean {
    return this.#runTimes.isQuick(type);
  }

  /** Median-like recent run time of `type` (moving average), or `undefined` before any run. */
  typeRunMs(type: string): number | undefined {
    return this.#runTimes.of(type);
  }

  /**
   * Cancels a held job: one not started is taken back (`"taken"`: it never
   * runs); a started one is asked to abort and its worker is replaced if it
   * has not stopped within `cancelGraceMs` (`"aborting"`). `"unknown"` when
   * the pool does not hold it.
   */
  cancel(id: string): "taken" | "aborting" | "unknown" {
    const held = this.#find(id);
    if (held === undefined) return "unknown";
    const taken: PoolJob[] = [];
    if (held.startedAt === null) this.#dispatcher.takeBack(held, taken);
    if (taken.length > 0) return "taken";
    const slot = held.slot;
    try {
      slot.post({ kind: "abort", cell: held.cell, seq: held.seq });
    } catch (error) {
      this.#replace(slot, { kind: "crashed", reason: `a message could not be sent: ${error}` });
      return "aborting";
    }
    this.#deadlines.armCancel(held, this.#options.cancelGraceMs);
    return "aborting";
  }

  /** State of every slot. */
  info(): WorkerInfo[] {
    return this.#slots.map((slot) => slot.info(this.#options.nodeId));
  }

  /** State of every slot with its CPU and memory (reads `/proc`: for listings, not events). */
  measure(): WorkerInfo[] {
    // Read in the background: a listing shows the previous reading.
    this.#usage.refresh();
    return this.#slots.map((slot) => slot.info(this.#options.nodeId, this.#usage.of(slot.worker)));
  }

  /** Total worker replacements across slots. */
  get restarts(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.restarts, 0);
  }

  /** Terminated worker threads that keep running (see `stuck_threads.ts`). */
  get stuckThreads(): StuckThread[] {
    return this.#workers.stuck;
  }

  /** Isolation each task type runs in now (a type found stuck in threads moves to processes). */
  isolationOf(type: string): "thread" | "process" | undefined {
    return this.#workers.isolationOfType(type);
  }

  /**
   * Terminates every worker and clears every timer: jobs not started go back
   * to the queue, started ones are reported interrupted.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#deadlines.close();
    this.#dispatcher.close();
    for (const slot of this.#slots) {
      this.#workers.stop(slot);
      const split = splitHeld(slot, (held) => this.#deadlines.forget(held));
      slot.stopped();
      reportSplit(this.#hooks, slot.id, split, { kind: "shutdown" });
      this.#hooks.workerEvent("worker.exited", slot.info(this.#options.nodeId), "shutdown");
    }
    // Worker processes, spares too, are gone (killed and reaped) before close resolves.
    await this.#workers.close();
  }

  /** Sends held jobs to `slot`'s worker; one whose payload cannot be sent fails alone. */
  #send(slot: Slot, sent: Held[]): void {
    const quick = slot.send(sent, this.#options.dispatchBatch, (held, error) => {
      const failure = toTaskError(error);
      failure.message = `The task's payload cannot be sent to a worker: ${failure.message}`;
      const now = Date.now();
      this.#noteStart(held, now, false);
      this.#settle(slot, held, { ok: false, value: failure, startedAt: now, runMs: 0 });
    });
    if (quick) this.#dispatcher.starts.watch();
  }

  /**
   * Records that `held` started at `at`: the engine marks it running and,
   * with `arm`, its timeout starts (not for a job whose outcome is at hand).
   */
  #noteStart(held: Held, at: number, arm: boolean): void {
    if (held.startedAt !== null) return;
    held.slot.markStarted(held, at);
    if (held.cancelling) return; // its task has moved on: only the books count it
    this.#hooks.started(held.job, held.slot.id, Math.round(at));
    if (!arm || held.slot.held[held.cell] !== held) return;
    this.#deadlines.armTimeout(held, at);
  }

  /** A terminated thread keeps running: its types move to worker processes until restart. */
  #onStuck(thread: StuckThread): void {
    const switched = thread.types.filter((type) => this.#workers.toProcess(type));
    // Jobs of those types already sent to threads and not started go where they now belong.
    for (const type of switched) this.recall(type);
    if (switched.length > 0) this.fill();
    this.#hooks.threadStuck?.(thread, switched);
  }

  #onMessage(slot: Slot, worker: WorkerHandle, message: FromWorker): void {
    if (slot.worker !== worker || this.#closed) return;
    switch (message.kind) {
      case "ready": {
        slot.ready = true;
        const onReady = slot.onReady;
        slot.onReady = undefined;
        onReady?.(message.invalid);
        this.#workers.ready(slot);
        this.#hooks.workerEvent("worker.started", slot.info(this.#options.nodeId));
        this.fill();
        break;
      }
      case "report":
        this.#onReport(slot, message);
        break;
      case "progress": {
        const held = slot.find(message.cell, message.seq);
        if (held === undefined || held.cancelling) break;
        this.#dispatcher.starts.observe(held);
        slot.firstProgress = toFraction(message.value);
        this.#hooks.progress(held.job, message.value);
        break;
      }
      case "exiting":
        this.#replace(slot, { kind: "crashed", reason: message.reason });
        break;
    }
  }

  #onReport(slot: Slot, report: Report): void {
    const worker = slot.worker;
    for (const outcome = new OutcomeReader(report); outcome.next();) {
      const held = slot.find(outcome.cell, outcome.seq);
      if (held !== undefined) this.#settle(slot, held, outcome);
      if (slot.worker !== worker) return; // a hook replaced the worker
    }
    const starts = report.starts;
    for (let i = 0; i < starts.length; i += 3) {
      const held = slot.find(starts[i], starts[i + 1]);
      if (held !== undefined) this.#noteStart(held, starts[i + 2], true);
    }
    if (slot.load === 0) slot.firstProgress = null;
    this.fill();
  }

  #settle(slot: Slot, held: Held, outcome: Settlement): void {
    const { ok, value, startedAt, runMs, payload } = outcome;
    this.#noteStart(held, startedAt, false);
    if (slot.held[held.cell] !== held) return; // cancelled by the started hook
    const job = held.job;
    slot.release(held);
    slot.crashStreak = 0;
    this.#deadlines.forget(held);
    const cancelled = held.cancelling;
    this.#runTimes.record(job.type, runMs);
    if (ok) slot.completed++;
    else if (!cancelled) slot.failed++;
    if (cancelled) this.#hooks.dropped(job, payload);
    else this.#hooks.settled(job, ok, value, Math.round(startedAt + runMs), runMs, payload);
  }

  /**
   * Stops the slot's worker, reports its jobs, and starts a new one (after a
   * backoff when its workers keep crashing).
   */
  #replace(slot: Slot, cause: InterruptCause): void {
    if (this.#closed || slot.worker === null) return;
    if (slot.onReady !== undefined && cause.kind === "crashed" && this.#startFailed !== null) {
      this.#startFailed(new Error(`Worker ${slot.id} could not start: ${cause.reason}.`));
      return;
    }
    // Stopped first: a process's claims then tell which of its jobs may have run.
    this.#workers.stop(slot, cause.kind === "timeout" || cause.kind === "cancelled");
    const split = splitHeld(slot, (held) => this.#deadlines.forget(held));
    slot.stopped();
    slot.restarts++;
    this.#hooks.workerEvent("worker.exited", slot.info(this.#options.nodeId), exitReason(cause));
    reportSplit(this.#hooks, slot.id, split, cause);
    // A worker that dies running a task fell to that task (which fails or retries): replace it
    // at once. One that dies running none (at start, between tasks) may die again: back off.
    const running = split.started.length + split.ended.length + split.dropped.length;
    this.#workers.respawn(slot, cause.kind === "crashed" && running === 0);
    this.fill();
  }
}
