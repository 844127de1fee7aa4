/**
 * The worker pool: a fixed number of slots, each holding one module Web
 * Worker. The pool decides what each worker holds, learns exactly when each
 * job starts, enforces timeouts and cancel grace periods, and replaces any
 * worker that dies. It knows nothing of queues, stores or HTTP: the engine
 * feeds it through {@linkcode PoolHooks}.
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

import type { WorkerEventType, WorkerInfo } from "../model/events.ts";
import { MAX_PRIORITY } from "../model/limits.ts";
import type { ProgressValue } from "../model/task.ts";
import { DeadlineQueue } from "../source/deadline_queue.ts";
import { entryModule } from "./entry.ts";
import type { NormalizedPermissions } from "./permissions.ts";
import { type FromWorker, type JobOutcome, toTaskError } from "./protocol.ts";
import { type Held, type PoolJob, Slot } from "./slot.ts";

export type { PoolJob } from "./slot.ts";

/** Why a worker's started jobs were taken from it. */
export type InterruptCause =
  | { kind: "timeout"; job: PoolJob; timeoutMs: number; runMs: number }
  | { kind: "cancelled"; job: PoolJob }
  | { kind: "crashed"; reason: string }
  | { kind: "shutdown" };

/** How the pool talks back to the engine. */
export interface PoolHooks {
  /** The most urgent ready job, without taking it; `undefined` when none waits. */
  peek(): PoolJob | undefined;
  /** Takes the job {@linkcode PoolHooks.peek} returned. */
  take(): PoolJob;
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
   * A run that was cancelled (see {@linkcode WorkerPool.cancel}) ended, or
   * its worker went: nothing of it counts (the task may be running again in
   * a new run). `payload` is a byte payload it moved back.
   */
  dropped(job: PoolJob, payload?: Uint8Array): void;
  progress(job: PoolJob, value: ProgressValue): void;
  workerEvent(type: WorkerEventType, worker: WorkerInfo, reason?: string): void;
}

/** Task types whose workers share one set of permissions. */
export interface WorkerGroup {
  /** Deno permissions of the group's workers. */
  permissions: NormalizedPermissions;
  /** Task type name → module URL. */
  types: Record<string, string>;
}

/** Options for {@linkcode WorkerPool}. */
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
  hooks: PoolHooks;
}

/** A terminated worker's jobs, by what became of them. */
interface SplitJobs {
  started: PoolJob[];
  notStarted: PoolJob[];
  /** Started in the worker, not yet noted: running, or ended with the outcome unreported. */
  ended: Array<{ job: PoolJob; startedAt: number }>;
  /** Cancelled runs: they no longer count. */
  dropped: PoolJob[];
}

interface PoolDeadline {
  held: Held;
  kind: "timeout" | "cancel";
}

/** A type whose handler runs faster than this (ms, moving average) is quick. */
export const QUICK_MS = 1;
/** Most expected work (ms) that may wait, unstarted, in one worker. */
export const PREFETCH_BUDGET_MS = 2;
/** How often unreported starts of quick jobs are read from the claim cells. */
const START_WATCH_MS = 20;

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
  #deadlines: DeadlineQueue<PoolDeadline>;
  /** Jobs held by all workers. */
  #held = 0;
  /** Moving average of handler run time per task type, ms. */
  #typeRunMs = new Map<string, number>();
  #closed = false;
  #filling = false;
  #watchTimer: ReturnType<typeof setTimeout> | undefined;
  /** Worker entry module (a data: URL) per group. */
  #entries: string[];
  #groupOfType = new Map<string, number>();
  readonly #events = {
    message: (slot: Slot, worker: Worker, data: unknown) =>
      this.#onMessage(slot, worker, data as FromWorker),
    crashed: (slot: Slot, worker: Worker, reason: string) => {
      if (slot.worker === worker) this.#replace(slot, { kind: "crashed", reason });
    },
  };

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#hooks = options.hooks;
    this.#deadlines = new DeadlineQueue((due) => this.#onDeadlines(due));
    this.#entries = options.groups.map((group) => entryModule(group.types));
    options.groups.forEach((group, index) => {
      for (const type of Object.keys(group.types)) this.#groupOfType.set(type, index);
    });
  }

  /** Starts every worker; rejects naming the task modules that cannot be used. */
  async start(): Promise<void> {
    const { size, concurrency, dispatchBatch } = this.#options;
    const capacity = concurrency + (dispatchBatch > 1 ? 2 * dispatchBatch : 0);
    const readies: Promise<Array<{ type: string; url: string; reason: string }>>[] = [];
    for (let id = 0; id < size; id++) {
      const slot = new Slot(id, capacity);
      this.#slots.push(slot);
      readies.push(new Promise((resolve) => this.#spawn(slot, resolve)));
    }
    const invalid = (await Promise.all(readies))[0];
    if (invalid.length > 0) {
      await this.close();
      const problems = invalid.map((m) => `${m.url}: ${m.reason}`).join("; ");
      throw new Error(`Task modules cannot be used as task types: ${problems}.`);
    }
  }

  /** Jobs workers are running (known started, not settled). */
  get running(): number {
    let count = 0;
    for (const slot of this.#slots) count += slot.running;
    return count;
  }

  /** Jobs workers hold, started or not. */
  get held(): number {
    return this.#held;
  }

  /** Jobs workers hold that have not started. */
  get pending(): number {
    let count = 0;
    for (const slot of this.#slots) count += slot.pending;
    return count;
  }

  /** Unstarted jobs per level, keyed "1".."10", and when each level's oldest became ready. */
  pendingDepth(): {
    queuedByPriority: Record<string, number>;
    oldestQueuedAt: Record<string, number | null>;
  } {
    const queuedByPriority: Record<string, number> = {};
    const oldestQueuedAt: Record<string, number | null> = {};
    for (let p = 1; p <= 10; p++) {
      queuedByPriority[p] = 0;
      oldestQueuedAt[p] = null;
    }
    for (const slot of this.#slots) {
      if (slot.pending === 0) continue;
      for (const held of slot.each()) {
        if (held.startedAt !== null) continue;
        const { priority } = held.job;
        queuedByPriority[priority]++;
        const oldest = oldestQueuedAt[priority];
        if (oldest === null || held.job.runAt < oldest) oldestQueuedAt[priority] = held.job.runAt;
      }
    }
    return { queuedByPriority, oldestQueuedAt };
  }

  /**
   * Tasks as urgent as `priority` are coming (just submitted, on their way
   * from a shared store): takes back every less urgent job not started yet,
   * so none starts before them.
   */
  makeWay(priority: number): void {
    if (!this.#closed && this.#held > 0) this.#takeBackBelow(priority);
  }

  /** Takes back every job not started yet (to the front of the queue): draining begins. */
  recall(): void {
    const taken: PoolJob[] = [];
    for (const slot of this.#slots) {
      if (slot.pending === 0) continue;
      for (const held of slot.each()) if (held.startedAt === null) this.#takeBack(held, taken);
    }
    if (taken.length > 0) this.#hooks.giveBack(taken.sort(byPriorityThenAge));
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

  /** Most jobs all workers can run at once. */
  get capacity(): number {
    return this.#options.size * this.#options.concurrency;
  }

  /** Whether jobs of `type` run quickly enough to be sent ahead. */
  isQuick(type: string): boolean {
    return (this.#typeRunMs.get(type) ?? Infinity) < QUICK_MS;
  }

  /** Median-like recent run time of `type` (moving average), or `undefined` before any run. */
  typeRunMs(type: string): number | undefined {
    return this.#typeRunMs.get(type);
  }

  /** Gives free worker capacity to waiting jobs. Cheap to call often. */
  fill(): void {
    if (this.#closed || this.#filling) return;
    this.#filling = true;
    try {
      // Each round serves the most urgent job's permission group. Taking jobs back makes room
      // for a more urgent one; it never undoes a dispatch, so the rounds always make progress.
      for (let round = 0; round <= this.#slots.length * 4 + MAX_PRIORITY; round++) {
        const next = this.#hooks.peek();
        if (next === undefined) {
          this.#balance();
          break;
        }
        const group = this.#groupOfType.get(next.type) ?? 0;
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
        if (!this.#dispatch(slot, next, group)) break;
      }
    } finally {
      this.#filling = false;
    }
  }

  /**
   * Sends `slot` the jobs it can start now and, when they are quick, the
   * jobs it may hold ahead. Returns whether anything was sent.
   */
  #dispatch(slot: Slot, first: PoolJob, group: number): boolean {
    const { concurrency } = this.#options;
    const urgency = this.#urgency(first);
    const startNow = Math.max(0, concurrency - slot.load);
    const prefetch = this.#prefetchRoom(slot, first, urgency);
    if (startNow === 0 && prefetch === 0) return false;
    const sent: Held[] = [];
    for (let next: PoolJob | undefined = first; next !== undefined; next = this.#hooks.peek()) {
      if ((this.#groupOfType.get(next.type) ?? 0) !== group) break;
      const immediate = sent.length < startNow;
      if (!immediate) {
        if (sent.length >= startNow + prefetch) break;
        if (!this.#canWait(next, urgency)) break;
      }
      const held = slot.hold(next, this.isQuick(next.type));
      if (held === undefined) break;
      this.#hooks.take();
      this.#held++;
      sent.push(held);
    }
    if (sent.length === 0) return false;
    this.#send(slot, sent);
    return true;
  }

  /** How many jobs beyond what it can start `slot` may hold ahead, `first` being the next. */
  #prefetchRoom(slot: Slot, first: PoolJob, urgency: number): number {
    const { dispatchBatch, concurrency } = this.#options;
    if (dispatchBatch <= 1 || slot.slow > 0 || !this.#canWait(first, urgency)) return 0;
    // Never ahead of a more urgent job that waits unstarted elsewhere.
    for (const other of this.#slots) {
      if (other !== slot && this.#pendingBeyond(other, urgency, 1)) return 0;
    }
    const average = this.#typeRunMs.get(first.type)!;
    const budget = Math.floor(PREFETCH_BUDGET_MS / Math.max(average, 0.001));
    const share = Math.ceil(this.#hooks.backlog() / this.#slots.length);
    const room = Math.min(2 * dispatchBatch, share, budget) - Math.max(0, slot.load - concurrency);
    return Math.max(0, room);
  }

  /** Whether `job` may wait unstarted in a worker: quick, its bytes not moved, not less urgent. */
  #canWait(job: PoolJob, urgency: number): boolean {
    return this.isQuick(job.type) && !(job.payload instanceof Uint8Array) &&
      this.#urgency(job) >= urgency;
  }

  /** A job's priority as the queue orders it now: with aging, raised by its wait. */
  #urgency(job: PoolJob): number {
    const { agingMs } = this.#options;
    if (agingMs <= 0) return job.priority;
    return Math.min(MAX_PRIORITY, job.priority + Math.floor((Date.now() - job.runAt) / agingMs));
  }

  /**
   * Whether `slot` holds an unstarted job more urgent than `urgency`
   * (`direction` 1) or less urgent (`direction` -1).
   */
  #pendingBeyond(slot: Slot, urgency: number, direction: 1 | -1): boolean {
    // Only jobs waiting behind running ones count: a worker with room starts what it holds.
    if (slot.pending === 0 || slot.load <= this.#options.concurrency) return false;
    if (this.#options.agingMs <= 0) {
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
    for (const slot of this.#slots) {
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
    if (slot.load >= this.#options.concurrency) return false;
    const taken: PoolJob[] = [];
    for (const other of this.#slots) {
      if (other === slot || !this.#pendingBeyond(other, urgency, 1)) continue;
      for (const held of other.each()) {
        if (other.load <= this.#options.concurrency) break; // the rest start at once
        if (held.startedAt === null && this.#urgency(held.job) > urgency) {
          this.#takeBack(held, taken);
        }
      }
    }
    if (taken.length === 0) return false;
    this.#hooks.giveBack(taken.sort(byPriorityThenAge));
    return true;
  }

  /**
   * Takes back every unstarted job less urgent than `urgency`, to the front
   * of the queue. Returns whether anything was taken back.
   */
  #takeBackBelow(urgency: number): boolean {
    const taken: PoolJob[] = [];
    for (const slot of this.#slots) {
      if (!this.#pendingBeyond(slot, urgency, -1)) continue;
      for (const held of slot.each()) {
        if (held.startedAt === null && this.#urgency(held.job) < urgency) {
          this.#takeBack(held, taken);
        }
      }
    }
    if (taken.length === 0) return false;
    this.#hooks.giveBack(taken.sort(byPriorityThenAge));
    return true;
  }

  /**
   * Nothing waits in the queue: a worker with room takes over half the
   * unstarted jobs of the busiest worker of its group.
   */
  #balance(): void {
    const { concurrency } = this.#options;
    for (const thief of this.#slots) {
      if (!thief.ready || thief.load >= concurrency) continue;
      let victim: Slot | undefined;
      for (const slot of this.#slots) {
        if (slot === thief || slot.group !== thief.group || slot.load <= concurrency) continue;
        if (slot.pending > 0 && (victim === undefined || slot.pending > victim.pending)) {
          victim = slot;
        }
      }
      if (victim === undefined) continue;
      const wanted = Math.max(concurrency - thief.load, Math.ceil(victim.pending / 2));
      const taken: PoolJob[] = [];
      for (const held of victim.each()) {
        if (taken.length >= wanted) break;
        if (held.startedAt === null) this.#takeBack(held, taken);
      }
      if (taken.length === 0) continue;
      taken.sort(byPriorityThenAge);
      const sent: Held[] = [];
      for (const job of taken) {
        const held = thief.hold(job, this.isQuick(job.type));
        if (held === undefined) {
          this.#hooks.giveBack(taken.slice(sent.length));
          break;
        }
        this.#held++;
        sent.push(held);
      }
      if (sent.length > 0) this.#send(thief, sent);
    }
  }

  /** Takes `held` back if its worker has not started it (adding it to `taken`); else notes the start. */
  #takeBack(held: Held, taken: PoolJob[]): void {
    const slot = held.slot;
    if (slot.claims.takeBack(held.cell, held.seq)) {
      slot.release(held);
      this.#held--;
      taken.push(held.job);
    } else if (slot.claims.started(held.cell, held.seq)) {
      this.#observeStart(held);
    }
    // Otherwise it already ran: its outcome is on its way in the worker's next report.
  }

  /**
   * The claim cells show `held` running. It is noted as started unless its
   * worker already has `concurrency` jobs noted: then one of those has ended
   * unreported (the cells are read while the worker runs on), and `held`
   * waits for its report, so no more jobs show as running than run.
   */
  #observeStart(held: Held): boolean {
    const slot = held.slot;
    if (slot.running >= this.#options.concurrency) return false;
    // A job sent before it and not yet reported has ended (or runs beside it): its report
    // will note it, so noting this one now could show more running than the worker runs.
    for (const other of slot.each()) {
      if (other.startedAt === null && other !== held && sentBefore(other, held)) return false;
    }
    this.#noteStart(held, slot.claims.startedAt(held.cell), !this.#closed);
    return true;
  }

  /**
   * No worker of `group` is ready: when one of another group is idle and none
   * of `group` is starting, restart it with `group`'s permissions.
   */
  #switchIdleWorker(group: number): void {
    if (this.#slots.some((slot) => slot.group === group && slot.worker !== null && !slot.ready)) {
      return;
    }
    const idle = this.#slots.find((slot) => slot.ready && slot.group !== group && slot.load === 0);
    if (idle === undefined) return;
    idle.terminate();
    this.#hooks.workerEvent(
      "worker.exited",
      idle.info(this.#options.nodeId),
      "switching permissions",
    );
    idle.group = group;
    this.#spawn(idle);
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
    if (held.startedAt === null) this.#takeBack(held, taken);
    if (taken.length > 0) return "taken";
    const slot = held.slot;
    try {
      slot.post({ kind: "abort", cell: held.cell, seq: held.seq });
    } catch (error) {
      this.#replace(slot, { kind: "crashed", reason: `a message could not be sent: ${error}` });
      return "aborting";
    }
    held.cancelling = true;
    this.#deadlines.set(`c${held.run}`, Date.now() + this.#options.cancelGraceMs, {
      held,
      kind: "cancel",
    });
    return "aborting";
  }

  /** State of every slot. */
  info(): WorkerInfo[] {
    return this.#slots.map((slot) => slot.info(this.#options.nodeId));
  }

  /** Total worker replacements across slots. */
  get restarts(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.restarts, 0);
  }

  /**
   * Terminates every worker and clears every timer: jobs not started go back
   * to the queue, started ones are reported interrupted.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#deadlines.close();
    clearTimeout(this.#watchTimer);
    for (const slot of this.#slots) {
      const split = this.#split(slot);
      slot.terminate();
      this.#report(slot, split, { kind: "shutdown" });
      this.#hooks.workerEvent("worker.exited", slot.info(this.#options.nodeId), "shutdown");
    }
    return Promise.resolve();
  }

  /**
   * Sends held jobs in messages of at most `dispatchBatch`: the worker
   * reports after each message's jobs, so the pool refills one message while
   * the worker runs the next.
   */
  #send(slot: Slot, sent: Held[]): void {
    const size = this.#options.dispatchBatch;
    let quick = false;
    for (let start = 0; start < sent.length; start += size) {
      const part = sent.length <= size ? sent : sent.slice(start, start + size);
      const wire = new Array(part.length);
      let transfer: Transferable[] | undefined;
      for (let i = 0; i < part.length; i++) {
        const held = part[i];
        wire[i] = Slot.wire(held);
        if (held.quick) quick = true;
        const payload = held.job.payload;
        if (payload instanceof Uint8Array && payload.buffer instanceof ArrayBuffer) {
          transfer ??= [];
          if (!transfer.includes(payload.buffer)) transfer.push(payload.buffer);
        }
      }
      try {
        slot.post({ kind: "run", jobs: wire }, transfer);
      } catch {
        // Something in a payload cannot be cloned: send the jobs one by one so only
        // the offending tasks fail, and the worker and its other tasks are unharmed.
        this.#sendEach(slot, part);
      }
    }
    if (quick) this.#watchStarts();
  }

  #sendEach(slot: Slot, sent: Held[]): void {
    for (const held of sent) {
      const payload = held.job.payload;
      const bytes = payload instanceof Uint8Array && payload.buffer instanceof ArrayBuffer
        ? [payload.buffer]
        : undefined;
      try {
        slot.post({ kind: "run", jobs: [Slot.wire(held)] }, bytes);
      } catch (error) {
        const failure = toTaskError(error);
        failure.message = `The task's payload cannot be sent to a worker: ${failure.message}`;
        const now = Date.now();
        this.#noteStart(held, now, false);
        this.#settle(slot, held, [held.cell, held.seq, false, failure, now, 0]);
      }
    }
  }

  /** Reads the claim cells now and then while quick jobs' starts are unreported. */
  #watchStarts(): void {
    if (this.#watchTimer !== undefined || this.#closed) return;
    this.#watchTimer = setTimeout(() => {
      this.#watchTimer = undefined;
      let waiting = false;
      const now = Date.now();
      const overdue: Held[] = [];
      for (const slot of this.#slots) {
        if (slot.pending === 0) continue;
        for (const held of slot.each()) {
          if (held.startedAt !== null || !held.quick) continue;
          waiting = true;
          if (!slot.claims.started(held.cell, held.seq) || this.#observeStart(held)) continue;
          // Running, not yet noted, its worker too busy to report: its timeout still holds.
          if (now - slot.claims.startedAt(held.cell) > held.job.timeoutMs) overdue.push(held);
        }
      }
      for (const held of overdue) {
        if (held.slot.held[held.cell] !== held) continue;
        const runMs = now - held.slot.claims.startedAt(held.cell);
        this.#replace(held.slot, {
          kind: "timeout",
          job: held.job,
          timeoutMs: held.job.timeoutMs,
          runMs,
        });
      }
      if (waiting) this.#watchStarts();
    }, START_WATCH_MS);
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
    held.armed = true;
    this.#deadlines.set(`t${held.run}`, at + held.job.timeoutMs, { held, kind: "timeout" });
  }

  #spawn(
    slot: Slot,
    onReady?: (invalid: Array<{ type: string; url: string; reason: string }>) => void,
  ): void {
    const options: WorkerOptions = { type: "module", name: `threadflow-${slot.id}` };
    if (this.#options.sandbox) {
      options.deno = {
        permissions: { ...this.#options.groups[slot.group].permissions, import: false },
      };
    }
    slot.onReady = onReady;
    slot.spawn(this.#entries[slot.group], options, this.#options.concurrency, this.#events);
  }

  #onMessage(slot: Slot, worker: Worker, message: FromWorker): void {
    if (slot.worker !== worker || this.#closed) return;
    switch (message.kind) {
      case "ready": {
        slot.ready = true;
        const onReady = slot.onReady;
        slot.onReady = undefined;
        onReady?.(message.invalid);
        this.#hooks.workerEvent("worker.started", slot.info(this.#options.nodeId));
        this.fill();
        break;
      }
      case "report":
        this.#onReport(slot, message.outcomes, message.starts);
        break;
      case "progress": {
        const held = slot.find(message.cell, message.seq);
        if (held === undefined || held.cancelling) break;
        this.#observeStart(held);
        slot.firstProgress = toFraction(message.value);
        this.#hooks.progress(held.job, message.value);
        break;
      }
      case "exiting":
        this.#replace(slot, { kind: "crashed", reason: message.reason });
        break;
    }
  }

  #onReport(slot: Slot, outcomes: JobOutcome[], starts: number[]): void {
    const worker = slot.worker;
    for (const outcome of outcomes) {
      const held = slot.find(outcome[0], outcome[1]);
      if (held !== undefined) this.#settle(slot, held, outcome);
      if (slot.worker !== worker) return; // a hook replaced the worker
    }
    for (let i = 0; i < starts.length; i += 3) {
      const held = slot.find(starts[i], starts[i + 1]);
      if (held !== undefined) this.#noteStart(held, starts[i + 2], true);
    }
    if (slot.load === 0) slot.firstProgress = null;
    this.fill();
  }

  #settle(slot: Slot, held: Held, outcome: JobOutcome): void {
    const [, , ok, value, startedAt, runMs, payload] = outcome;
    this.#noteStart(held, startedAt, false);
    if (slot.held[held.cell] !== held) return; // cancelled by the started hook
    const job = held.job;
    slot.release(held);
    this.#held--;
    if (held.armed) this.#deadlines.delete(`t${held.run}`);
    const cancelled = held.cancelling;
    if (cancelled) this.#deadlines.delete(`c${held.run}`);
    const average = this.#typeRunMs.get(job.type);
    this.#typeRunMs.set(job.type, average === undefined ? runMs : average * 0.8 + runMs * 0.2);
    if (ok) slot.completed++;
    else if (!cancelled) slot.failed++;
    if (cancelled) this.#hooks.dropped(job, payload);
    else this.#hooks.settled(job, ok, value, Math.round(startedAt + runMs), runMs, payload);
  }

  #onDeadlines(due: PoolDeadline[]): void {
    for (const { held, kind } of due) {
      const slot = held.slot;
      if (slot.held[held.cell] !== held) continue;
      const cause: InterruptCause = kind === "timeout"
        ? {
          kind: "timeout",
          job: held.job,
          timeoutMs: held.job.timeoutMs,
          runMs: Date.now() - (held.startedAt ?? Date.now()),
        }
        : { kind: "cancelled", job: held.job };
      this.#replace(slot, cause);
    }
  }

  /**
   * The slot's held jobs, split into started (noted), not started (taken
   * back), and the rest: started in the worker but not yet noted (running,
   * or ended with their outcome unreported), with their start times.
   */
  #split(slot: Slot): SplitJobs {
    const started: PoolJob[] = [];
    const notStarted: PoolJob[] = [];
    const ended: Array<{ job: PoolJob; startedAt: number }> = [];
    const dropped: PoolJob[] = [];
    for (const held of slot.each()) {
      if (held.startedAt === null && slot.claims.takeBack(held.cell, held.seq)) {
        slot.release(held);
        this.#held--;
        notStarted.push(held.job);
        continue;
      }
      this.#held--;
      if (held.armed) this.#deadlines.delete(`t${held.run}`);
      if (held.cancelling) {
        this.#deadlines.delete(`c${held.run}`);
        dropped.push(held.job);
      } else if (held.startedAt !== null) started.push(held.job);
      else ended.push({ job: held.job, startedAt: Math.round(slot.claims.startedAt(held.cell)) });
    }
    return { started, notStarted: notStarted.sort(byPriorityThenAge), ended, dropped };
  }

  /** Reports a terminated slot's jobs: unstarted ones go back, started and ended ones are interrupted. */
  #report(slot: Slot, split: SplitJobs, cause: InterruptCause): void {
    const { started, notStarted, ended, dropped } = split;
    for (const job of dropped) this.#hooks.dropped(job);
    if (notStarted.length > 0) this.#hooks.giveBack(notStarted);
    if (started.length > 0) this.#hooks.interrupted(started, cause);
    // One at a time, so no more show as running than the worker ran.
    for (const { job, startedAt } of ended) {
      this.#hooks.started(job, slot.id, startedAt);
      this.#hooks.interrupted([job], cause);
    }
  }

  /** Terminates the slot's worker, reports its jobs, and starts a new one. */
  #replace(slot: Slot, cause: InterruptCause): void {
    if (this.#closed || slot.worker === null) return;
    const split = this.#split(slot);
    slot.terminate();
    slot.restarts++;
    const reason = cause.kind === "timeout"
      ? "timeout"
      : cause.kind === "cancelled"
      ? "cancel-grace"
      : cause.kind === "crashed"
      ? `crashed: ${cause.reason}`
      : "shutdown";
    this.#hooks.workerEvent("worker.exited", slot.info(this.#options.nodeId), reason);
    this.#report(slot, split, cause);
    this.#spawn(slot);
    this.fill();
  }
}

/** Whether `a` was sent to its worker before `b` (sequence numbers grow, wrapping after 2^31). */
function sentBefore(a: Held, b: Held): boolean {
  const gap = b.seq - a.seq;
  return gap > 0 ? gap < 0x4000_0000 : gap < -0x4000_0000;
}

/** Most urgent first, then oldest (task ids sort by creation). */
function byPriorityThenAge(a: PoolJob, b: PoolJob): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A progress report as a fraction from 0 to 1. */
export function toFraction(value: ProgressValue): number {
  const fraction = typeof value === "number"
    ? value
    : value.total > 0
    ? value.done / value.total
    : 0;
  return Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
}
