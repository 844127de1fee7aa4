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
import { DeadlineQueue } from "../source/deadline_queue.ts";
import { Dispatcher } from "./dispatcher.ts";
import { entryModule } from "./entry.ts";
import type { InterruptCause, PoolHooks, PoolJob, WorkerGroup } from "./hooks.ts";
import { type FromWorker, type JobOutcome, toFraction, toTaskError } from "./protocol.ts";
import { exitReason, reportSplit, splitHeld } from "./interrupt.ts";
import { canSpawnWorkerProcesses, ProcessWorker } from "./process_worker.ts";
import { processesUsage, type ProcUsage, threadsUsage } from "./proc_stat.ts";
import { type Held, pendingDepth, Slot, type StartWorker } from "./slot.ts";
import { type StuckThread, StuckThreadWatch } from "./stuck_threads.ts";
import { resolveWorkerThreads, ThreadWorker, type WorkerHandle } from "./worker_handle.ts";

export type { InterruptCause, PoolHooks, PoolJob, WorkerGroup } from "./hooks.ts";

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
  /** Heap limit of worker processes started for types found stuck in threads, MB. */
  memoryLimitMb: number;
  hooks: PoolHooks;
}

/** Workers' CPU and memory are read again when a listing finds the last reading older than this. */
const USAGE_REFRESH_MS = 1_000;
/** First respawn delay of a slot whose worker keeps crashing; doubles per crash. */
const RESPAWN_BACKOFF_MS = 100;
/** Longest respawn delay. */
const MAX_RESPAWN_BACKOFF_MS = 10_000;

interface PoolDeadline {
  held: Held;
  kind: "timeout" | "cancel";
}

/** A type whose handler runs faster than this (ms, moving average) is quick. */
export const QUICK_MS = 1;

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
  /** Moving average of handler run time per task type, ms. */
  #typeRunMs = new Map<string, number>();
  #closed = false;
  #dispatcher: Dispatcher;
  /** Worker entry module (a data: URL) per group. */
  #entries: string[];
  #groupOfType = new Map<string, number>();
  #groups: WorkerGroup[];
  /** Workers stopped but maybe not gone yet (processes being reaped). */
  #stopping = new Set<WorkerHandle>();
  #respawnTimers = new Map<Slot, ReturnType<typeof setTimeout>>();
  #stuck: StuckThreadWatch;
  /** The workers' last CPU and memory reading. */
  #usage = {
    at: -Infinity,
    processes: new Map<number, ProcUsage>(),
    threads: new Map<number, ProcUsage>(),
  };
  #usageReading = false;
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
    this.#dispatcher = new Dispatcher({
      slots: this.#slots,
      options,
      hooks: options.hooks,
      isClosed: () => this.#closed,
      groupOf: (type) => this.#groupOfType.get(type) ?? 0,
      isolationOf: (group) => this.#groups[group].isolation,
      addSlots: (group) => {
        if (this.#groups[group].isolation !== "process") return;
        if (this.#slots.some((slot) => slot.isolation === "process")) return;
        this.#addProcessSlots(group);
      },
      isQuick: (type) => this.isQuick(type),
      typeRunMs: (type) => this.#typeRunMs.get(type),
      send: (slot, sent) => this.#send(slot, sent),
      noteStart: (held, at, arm) => this.#noteStart(held, at, arm),
      replace: (slot, cause) => this.#replace(slot, cause),
      switchGroup: (slot, group) => {
        this.#stop(slot);
        slot.stopped();
        this.#hooks.workerEvent(
          "worker.exited",
          slot.info(options.nodeId),
          "switching permissions",
        );
        slot.group = group;
        this.#spawn(slot);
      },
    });
    this.#deadlines = new DeadlineQueue((due) => this.#onDeadlines(due));
    this.#groups = [...options.groups];
    this.#entries = this.#groups.map((group) => entryModule(group.types));
    this.#groups.forEach((group, index) => {
      for (const type of Object.keys(group.types)) this.#groupOfType.set(type, index);
    });
    this.#stuck = new StuckThreadWatch((thread) => this.#onStuck(thread), resolveWorkerThreads);
  }

  /** Starts every worker; rejects naming the task modules that cannot be used. */
  async start(): Promise<void> {
    const { size } = this.#options;
    const inProcesses = this.#groups.filter((group) => group.isolation === "process");
    if (inProcesses.length > 0 && !canSpawnWorkerProcesses()) {
      const types = inProcesses.flatMap((group) => Object.keys(group.types)).join(", ");
      throw new Error(
        Deno.build.standalone === true
          ? `Task types ${types} run in worker processes (isolation "process"), which a ` +
            `compiled binary cannot start (they need deno run): run these types in threads.`
          : `Task types ${types} run in worker processes (isolation "process"), which needs ` +
            `permission to run Deno: start ThreadFlow with --allow-run=deno (or --allow-run), ` +
            `or run these types in threads.`,
      );
    }
    const readies: Promise<Array<{ type: string; url: string; reason: string }>>[] = [];
    const failed = new Promise<never>((_, reject) => this.#startFailed = reject);
    for (let id = 0; id < size; id++) {
      const slot = new Slot(id, this.#capacityPerSlot, "thread");
      this.#slots.push(slot);
      readies.push(new Promise((resolve) => this.#spawn(slot, resolve)));
    }
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
    let count = 0;
    for (const slot of this.#slots) count += slot.running;
    return count;
  }

  /** Jobs workers hold, started or not. */
  get held(): number {
    let count = 0;
    for (const slot of this.#slots) count += slot.load;
    return count;
  }

  /** Jobs workers hold that have not started. */
  get pending(): number {
    let count = 0;
    for (const slot of this.#slots) count += slot.pending;
    return count;
  }

  /** Unstarted jobs per level, keyed "1".."10", and when each level's oldest became ready. */
  pendingDepth(): ReturnType<typeof pendingDepth> {
    return pendingDepth(this.#slots);
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

  /**
   * Adds `size` slots whose workers are processes, started in `group`, when
   * the first job of a type in processes waits. Process slots come in
   * addition to thread slots (a slot never changes kind), so process
   * isolation never costs the thread types a worker, and costs nothing
   * until used.
   */
  #addProcessSlots(group: number): void {
    const first = this.#slots.length;
    for (let i = 0; i < this.#options.size; i++) {
      const slot = new Slot(first + i, this.#capacityPerSlot, "process");
      slot.group = group;
      this.#slots.push(slot);
      this.#spawn(slot);
    }
  }

  /** Whether jobs of `type` run quickly enough to be sent ahead. */
  isQuick(type: string): boolean {
    return (this.#typeRunMs.get(type) ?? Infinity) < QUICK_MS;
  }

  /** Median-like recent run time of `type` (moving average), or `undefined` before any run. */
  typeRunMs(type: string): number | undefined {
    return this.#typeRunMs.get(type);
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

  /** State of every slot with its CPU and memory (reads `/proc`: for listings, not events). */
  measure(): WorkerInfo[] {
    this.#refreshUsage();
    const { processes, threads } = this.#usage;
    return this.#slots.map((slot) => {
      const worker = slot.worker;
      const usage = worker === null
        ? null
        : worker.pid !== null
        ? processes.get(worker.pid) ?? null
        : worker.tid !== null
        ? threads.get(worker.tid) ?? null
        : null;
      return slot.info(this.#options.nodeId, usage);
    });
  }

  /**
   * Reads the workers' CPU and memory again, in the background, when the
   * last reading is over a second old: a listing shows the previous reading
   * (`ps`, where `/proc` is closed, takes a while and must not hold the event loop).
   */
  #refreshUsage(): void {
    if (this.#usageReading || performance.now() - this.#usage.at < USAGE_REFRESH_MS) return;
    this.#usageReading = true;
    const read = async () => {
      await resolveWorkerThreads();
      const pids: number[] = [];
      const tids: number[] = [];
      for (const slot of this.#slots) {
        if (slot.worker?.pid != null) pids.push(slot.worker.pid);
        if (slot.worker?.tid != null) tids.push(slot.worker.tid);
      }
      const [processes, threads] = await Promise.all([processesUsage(pids), threadsUsage(tids)]);
      this.#usage = { at: performance.now(), processes, threads };
    };
    read().finally(() => this.#usageReading = false);
  }

  /** Total worker replacements across slots. */
  get restarts(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.restarts, 0);
  }

  /** Terminated worker threads that keep running (see `stuck_threads.ts`). */
  get stuckThreads(): StuckThread[] {
    return this.#stuck.stuck;
  }

  /** Isolation each task type runs in now (a type found stuck in threads moves to processes). */
  isolationOf(type: string): "thread" | "process" | undefined {
    const group = this.#groupOfType.get(type);
    return group === undefined ? undefined : this.#groups[group].isolation;
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
    for (const timer of this.#respawnTimers.values()) clearTimeout(timer);
    this.#respawnTimers.clear();
    for (const slot of this.#slots) {
      this.#stop(slot);
      const split = splitHeld(slot, (held) => this.#forgetDeadlines(held));
      slot.stopped();
      reportSplit(this.#hooks, slot.id, split, { kind: "shutdown" });
      this.#hooks.workerEvent("worker.exited", slot.info(this.#options.nodeId), "shutdown");
    }
    this.#stuck.close();
    // Worker processes are gone (killed and reaped) before close resolves.
    await Promise.all([...this.#stopping].map((worker) => worker.closed()));
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
    if (quick) this.#dispatcher.watchStarts();
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
    slot.onReady = onReady;
    try {
      slot.spawn(this.#starter(slot.group), this.#options.concurrency, this.#events);
    } catch (error) {
      // A process that cannot start (the executable is gone, a limit is hit): try again later.
      console.error(`ThreadFlow could not start worker ${slot.id}:`, error);
      slot.crashStreak++;
      this.#respawnLater(slot);
    }
  }

  /** How workers of `group` start: threads or processes. */
  #starter(group: number): StartWorker {
    const { permissions, isolation, memoryLimitMb, types } = this.#groups[group];
    const { concurrency } = this.#options;
    if (isolation === "process") {
      return (capacity, events) =>
        new ProcessWorker({ types, permissions, memoryLimitMb, capacity, concurrency }, events);
    }
    const entry = this.#entries[group];
    return (capacity, events) => {
      const options: WorkerOptions = { type: "module", name: "threadflow-worker" };
      if (this.#options.sandbox) options.deno = { permissions: { ...permissions, import: false } };
      return new ThreadWorker(entry, options, capacity, events);
    };
  }

  /**
   * Stops a slot's worker at once; with `watch`, a thread terminated while
   * running tasks (a timeout, a cancel past grace) is watched in case it keeps
   * running. A thread that crashed ended by itself.
   */
  #stop(slot: Slot, watch = false): void {
    const worker = slot.halt();
    if (worker === null) return;
    this.#stopping.add(worker);
    worker.closed().then(() => this.#stopping.delete(worker));
    if (watch && worker instanceof ThreadWorker && !this.#closed) {
      const types = new Set<string>();
      for (const held of slot.each()) {
        if (held.startedAt !== null || slot.claims.started(held.cell, held.seq)) {
          types.add(held.job.type);
        }
      }
      if (types.size > 0) this.#stuck.watch(() => worker.tid, slot.id, [...types]);
    }
  }

  /** A terminated thread keeps running: its types move to worker processes until restart. */
  #onStuck(thread: StuckThread): void {
    const switched: string[] = [];
    if (canSpawnWorkerProcesses()) {
      for (const type of thread.types) if (this.#toProcess(type)) switched.push(type);
    }
    this.#hooks.threadStuck?.(thread, switched);
  }

  /** Runs `type` in worker processes from now on; `false` when it already does. */
  #toProcess(type: string): boolean {
    const from = this.#groupOfType.get(type);
    if (from === undefined || this.#groups[from].isolation === "process") return false;
    const source = this.#groups[from].types[type];
    this.#groups.push({
      permissions: this.#groups[from].permissions,
      isolation: "process",
      memoryLimitMb: this.#options.memoryLimitMb,
      types: { [type]: source },
    });
    this.#entries.push("");
    this.#groupOfType.set(type, this.#groups.length - 1);
    // Jobs of the type already sent to threads and not started go where they now belong.
    this.recall(type);
    this.fill();
    return true;
  }

  #respawnLater(slot: Slot): void {
    if (this.#closed || this.#respawnTimers.has(slot)) return;
    const delay = Math.min(
      MAX_RESPAWN_BACKOFF_MS,
      RESPAWN_BACKOFF_MS * 2 ** Math.max(0, slot.crashStreak - 1),
    );
    this.#respawnTimers.set(
      slot,
      setTimeout(() => {
        this.#respawnTimers.delete(slot);
        if (this.#closed || slot.worker !== null) return;
        this.#spawn(slot);
      }, delay),
    );
  }

  #onMessage(slot: Slot, worker: WorkerHandle, message: FromWorker): void {
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
        this.#dispatcher.observeStart(held);
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
    slot.crashStreak = 0;
    this.#forgetDeadlines(held);
    const cancelled = held.cancelling;
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

  /** Clears a run's timeout and cancel grace. */
  #forgetDeadlines(held: Held): void {
    if (held.armed) this.#deadlines.delete(`t${held.run}`);
    if (held.cancelling) this.#deadlines.delete(`c${held.run}`);
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
    this.#stop(slot, cause.kind === "timeout" || cause.kind === "cancelled");
    const split = splitHeld(slot, (held) => this.#forgetDeadlines(held));
    slot.stopped();
    slot.restarts++;
    this.#hooks.workerEvent("worker.exited", slot.info(this.#options.nodeId), exitReason(cause));
    reportSplit(this.#hooks, slot.id, split, cause);
    // A worker that dies running a task fell to that task (which fails or retries): replace it
    // at once. One that dies running none (at start, between tasks) may die again: back off.
    const running = split.started.length + split.ended.length + split.dropped.length;
    slot.crashStreak = cause.kind === "crashed" && running === 0 ? slot.crashStreak + 1 : 0;
    if (slot.crashStreak > 1) this.#respawnLater(slot);
    else this.#spawn(slot);
    this.fill();
  }
}
