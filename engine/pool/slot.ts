/**
 * One worker slot: the worker that runs there now, the jobs it holds (by
 * claim cell), and the figures the dashboard shows. Policy (what to send
 * where, when to take jobs back) lives in the pool; a slot only keeps its
 * books straight and sends its worker the jobs it is given, in batches.
 *
 * @module
 */

import type { WorkerInfo } from "../model/events.ts";
import { MAX_PRIORITY } from "../model/limits.ts";
import type { ParentOutcome } from "../model/task.ts";
import type { Claims } from "./claims.ts";
import { JobPacker, REPORT_START, type ToWorker } from "./protocol.ts";
import type { ProcUsage } from "./proc_stat.ts";
import type { HandleEvents, Isolation, WorkerHandle } from "./worker_handle.ts";

/** A task as the pool sees it (a `Task` is one). */
export interface PoolJob {
  id: string;
  type: string;
  payload: unknown;
  priority: number;
  attempts: number;
  timeoutMs: number;
  /** When it became ready to run (ms since epoch). */
  runAt: number;
  /** Outcomes of the tasks it depends on, for `ctx.parents` (kept off snapshots: not enumerable). */
  readonly parents?: ParentOutcome[];
}

/** A job a worker holds. */
export interface Held {
  job: PoolJob;
  slot: Slot;
  cell: number;
  seq: number;
  /** When the worker started it (ms since epoch), once the pool knows; else `null`. */
  startedAt: number | null;
  /** Its start is reported with its outcome (the type is quick), not at once. */
  quick: boolean;
  /** Its timeout is armed. */
  armed: boolean;
  /** It was asked to abort; its cancel grace runs. */
  cancelling: boolean;
  /** A number no other run of the pool has: keys its deadlines (a retried task runs again). */
  run: number;
}

/** Messages a slot's worker sends, as the pool handles them. */
export interface SlotEvents {
  message(slot: Slot, worker: WorkerHandle, data: unknown): void;
  crashed(slot: Slot, worker: WorkerHandle, reason: string, outOfMemory?: boolean): void;
}

/** Starts a worker whose claims have `capacity` cells, telling `events`. */
export type StartWorker = (capacity: number, events: HandleEvents) => WorkerHandle;

/** Figures of one worker, measured between two reads. */
interface UsageSample {
  at: number;
  cpuMs: number;
  percent: number | null;
  memoryBytes: number | null;
}

let runs = 0;

/** The pool's bookkeeping for one worker. */
export class Slot {
  readonly id: number;
  /** Index of the permission group its worker runs. */
  group = 0;
  worker: WorkerHandle | null = null;
  ready = false;
  /** Claims of the current worker (a new set per worker). */
  claims!: Claims;
  /** Held jobs by cell. */
  readonly held: Array<Held | undefined>;
  /** Jobs held (started or not). */
  load = 0;
  /** Held jobs known to have started. */
  running = 0;
  /** Held jobs of types not known to be quick. */
  slow = 0;
  /** Held jobs not known to have started, by priority (index 1–10). */
  readonly pendingByPriority = new Int32Array(MAX_PRIORITY + 1);
  firstProgress: number | null = null;
  completed = 0;
  failed = 0;
  restarts = 0;
  startedAt = Date.now();
  /** Whether its workers are threads or processes: fixed for the slot's life. */
  readonly isolation: Isolation;
  /** Crashes in a row without a job settled: spaces out respawns. */
  crashStreak = 0;
  onReady?: (invalid: Array<{ type: string; url: string; reason: string }>) => void;
  readonly #capacity: number;
  #usage: UsageSample | null = null;

  constructor(id: number, capacity: number, isolation: Isolation = "thread") {
    this.id = id;
    this.isolation = isolation;
    this.#capacity = capacity;
    this.held = new Array(capacity);
  }

  /** Held jobs not known to have started. */
  get pending(): number {
    return this.load - this.running;
  }

  /** Starts a worker with `start`; its messages go to `events`. Throws what `start` throws. */
  spawn(start: StartWorker, concurrency: number, events: SlotEvents): void {
    let worker: WorkerHandle | null = null;
    worker = start(this.#capacity, {
      message: (data) => events.message(this, worker!, data),
      crashed: (reason, outOfMemory) => events.crashed(this, worker!, reason, outOfMemory),
    });
    this.worker = worker;
    this.claims = worker.claims;
    this.ready = false;
    this.startedAt = Date.now();
    this.#usage = null;
    this.post({
      kind: "init",
      slot: this.id,
      concurrency,
      capacity: this.#capacity,
      cells: this.claims.cells,
      starts: this.claims.starts,
    });
  }

  /** Posts to the worker; throws what cannot be sent. */
  post(message: ToWorker, transfer?: Transferable[]): void {
    this.worker!.post(message, transfer);
  }

  /**
   * Sends held jobs in messages of at most `batch`: the worker reports after
   * each message's jobs, so the pool refills one message while the worker
   * runs the next. A job that cannot be sent (its payload cannot be cloned)
   * goes to `unsendable`, and only it. Returns whether any job sent is quick.
   */
  send(sent: Held[], batch: number, unsendable: (held: Held, error: unknown) => void): boolean {
    let quick = false;
    for (let start = 0; start < sent.length; start += batch) {
      const part = sent.length <= batch ? sent : sent.slice(start, start + batch);
      const packer = new JobPacker(part.length);
      let transfer: Transferable[] | undefined;
      for (let i = 0; i < part.length; i++) {
        const held = part[i];
        Slot.pack(packer, held);
        if (held.quick) quick = true;
        const payload = held.job.payload;
        if (payload instanceof Uint8Array && payload.buffer instanceof ArrayBuffer) {
          transfer ??= [];
          if (!transfer.includes(payload.buffer)) transfer.push(payload.buffer);
        }
      }
      try {
        this.post({ kind: "run", jobs: packer.batch() }, transfer);
      } catch {
        // Something in a payload cannot be cloned: send the jobs one by one so only
        // the offending tasks fail, and the worker and its other tasks are unharmed.
        this.#sendEach(part, unsendable);
      }
    }
    return quick;
  }

  #sendEach(sent: Held[], unsendable: (held: Held, error: unknown) => void): void {
    for (const held of sent) {
      const payload = held.job.payload;
      const bytes = payload instanceof Uint8Array && payload.buffer instanceof ArrayBuffer
        ? [payload.buffer]
        : undefined;
      const packer = new JobPacker(1);
      Slot.pack(packer, held);
      try {
        this.post({ kind: "run", jobs: packer.batch() }, bytes);
      } catch (error) {
        unsendable(held, error);
      }
    }
  }

  /** Records `job` as held in a new cell; `undefined` when every cell is taken. */
  hold(job: PoolJob, quick: boolean): Held | undefined {
    const claim = this.claims.allocate();
    if (claim === undefined) return undefined;
    const held: Held = {
      job,
      slot: this,
      cell: claim.cell,
      seq: claim.seq,
      startedAt: null,
      quick,
      armed: false,
      cancelling: false,
      run: ++runs,
    };
    this.held[claim.cell] = held;
    this.load++;
    if (!quick) this.slow++;
    this.pendingByPriority[job.priority]++;
    return held;
  }

  /** Adds a held job to the batch `packer` makes. */
  static pack(packer: JobPacker, held: Held): void {
    const { job } = held;
    packer.add(
      job.id,
      job.type,
      job.payload,
      job.attempts + 1,
      held.cell,
      held.seq,
      held.quick ? 0 : REPORT_START,
      job.parents,
    );
  }

  /** The held job in `cell` with sequence `seq`, or `undefined` (settled or taken back already). */
  find(cell: number, seq: number): Held | undefined {
    const held = this.held[cell];
    return held !== undefined && held.seq === seq ? held : undefined;
  }

  /** Marks a held job started at `at`. */
  markStarted(held: Held, at: number): void {
    if (held.startedAt !== null) return;
    held.startedAt = at;
    this.claims.noted(held.cell);
    this.running++;
    this.pendingByPriority[held.job.priority]--;
  }

  /** Forgets a held job (settled, taken back, or its worker gone) and frees its cell. */
  release(held: Held): void {
    if (this.held[held.cell] !== held) return;
    this.held[held.cell] = undefined;
    this.claims.release(held.cell);
    this.load--;
    if (!held.quick) this.slow--;
    if (held.startedAt === null) this.pendingByPriority[held.job.priority]--;
    else this.running--;
  }

  /** Whether any pending job has a priority below `priority`. */
  hasPendingBelow(priority: number): boolean {
    for (let p = 1; p < priority; p++) if (this.pendingByPriority[p] > 0) return true;
    return false;
  }

  /** Highest priority among pending jobs, or 0 when none. */
  topPendingPriority(): number {
    for (let p = MAX_PRIORITY; p >= 1; p--) if (this.pendingByPriority[p] > 0) return p;
    return 0;
  }

  /** Every held job, in cell order (the dispatcher walks them on every fill). */
  each(): Iterable<Held> {
    return this.load === 0 ? NO_JOBS : new HeldJobs(this.held);
  }

  /**
   * Stops the worker at once and returns it; its claims then tell which held
   * jobs may have run (see {@linkcode stopped}). `null` when none runs.
   */
  halt(): WorkerHandle | null {
    const worker = this.worker;
    worker?.terminate();
    return worker;
  }

  /** After {@linkcode halt}: forgets held jobs (the caller sorted them first) and the worker. */
  stopped(): void {
    for (const held of this.each()) this.release(held);
    this.firstProgress = null;
    this.worker = null;
    this.ready = false;
  }

  /**
   * CPU use (percent of one core since the last read, at least 1 s apart)
   * and memory, from `usage` as read for its worker (`null`: unreadable).
   */
  usage(
    usage: ProcUsage | null,
  ): { cpuPercent: number | null; cpuMs: number | null; memoryBytes: number | null } {
    if (usage === null) return { cpuPercent: null, cpuMs: null, memoryBytes: null };
    const now = performance.now();
    const last = this.#usage;
    if (last === null || now - last.at >= 1_000) {
      const percent = last === null
        ? null
        : Math.round((usage.cpuMs - last.cpuMs) / (now - last.at) * 1000) / 10;
      this.#usage = { at: now, cpuMs: usage.cpuMs, percent, memoryBytes: usage.rssBytes };
    }
    return { cpuPercent: this.#usage!.percent, cpuMs: usage.cpuMs, memoryBytes: usage.rssBytes };
  }

  /** The slot's state; with `usage` (read for its worker, maybe `null`), its CPU and memory too. */
  info(nodeId: string, usage?: ProcUsage | null): WorkerInfo {
    // A quick job's start is reported with its outcome; its claim cell tells sooner.
    const taskIds: string[] = [];
    for (const held of this.each()) {
      if (held.startedAt !== null || this.claims.started(held.cell, held.seq)) {
        taskIds.push(held.job.id);
      }
    }
    return {
      id: this.id,
      nodeId,
      state: this.worker === null
        ? "stopped"
        : !this.ready
        ? "starting"
        : taskIds.length > 0
        ? "busy"
        : "idle",
      taskIds,
      progress: this.firstProgress,
      completed: this.completed,
      failed: this.failed,
      restarts: this.restarts,
      startedAt: this.startedAt,
      isolation: this.isolation,
      pid: this.worker?.pid ?? null,
      ...(usage === undefined ? {} : this.usage(usage)),
    };
  }
}

const NO_JOBS: readonly Held[] = [];

/**
 * A slot's held jobs, skipping empty cells. A generator made two objects a
 * step (about 1.8 µs for a slot of 64 jobs, against 0.2): this makes none,
 * reusing its result object, which `for…of` reads before the next step.
 */
class HeldJobs implements IterableIterator<Held> {
  readonly #cells: ReadonlyArray<Held | undefined>;
  #at = 0;
  readonly #step: IteratorYieldResult<Held> = { done: false, value: undefined as unknown as Held };

  constructor(cells: ReadonlyArray<Held | undefined>) {
    this.#cells = cells;
  }

  next(): IteratorResult<Held> {
    const cells = this.#cells;
    while (this.#at < cells.length) {
      const held = cells[this.#at++];
      if (held === undefined) continue;
      this.#step.value = held;
      return this.#step;
    }
    return { done: true, value: undefined };
  }

  [Symbol.iterator](): IterableIterator<Held> {
    return this;
  }
}

/** The jobs of `type` that `slots` hold, started or not (cancelled runs still stopping too). */
export function heldJobsOf(slots: readonly Slot[], type: string): PoolJob[] {
  const jobs: PoolJob[] = [];
  for (const slot of slots) {
    for (const held of slot.each()) if (held.job.type === type) jobs.push(held.job);
  }
  return jobs;
}

/** Unstarted jobs of `slots` per level, keyed "1".."10", and when each level's oldest became ready. */
export function pendingDepth(slots: readonly Slot[]): {
  queuedByPriority: Record<string, number>;
  oldestQueuedAt: Record<string, number | null>;
} {
  const queuedByPriority: Record<string, number> = {};
  const oldestQueuedAt: Record<string, number | null> = {};
  for (let p = 1; p <= MAX_PRIORITY; p++) {
    queuedByPriority[p] = 0;
    oldestQueuedAt[p] = null;
  }
  for (const slot of slots) {
    if (slot.pending === 0) continue;
    for (const held of slot.each()) {
      if (held.startedAt !== null) continue;
      const { priority, runAt } = held.job;
      queuedByPriority[priority]++;
      const oldest = oldestQueuedAt[priority];
      if (oldest === null || runAt < oldest) oldestQueuedAt[priority] = runAt;
    }
  }
  return { queuedByPriority, oldestQueuedAt };
}
