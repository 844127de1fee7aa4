/**
 * The worker pool: a fixed number of slots, each holding one module Web
 * Worker. The pool sends jobs, enforces timeouts and cancel grace periods,
 * and replaces any worker that dies. It knows nothing of queues, stores or
 * HTTP: the engine feeds it through {@linkcode PoolHooks}.
 *
 * @module
 */

import type { WorkerEventType, WorkerInfo } from "../model/events.ts";
import {
  type FromWorker,
  type Job,
  type JobOutcome,
  toTaskError,
  type ToWorker,
} from "./protocol.ts";
import { DeadlineQueue } from "../source/deadline_queue.ts";
import type { NormalizedPermissions } from "./permissions.ts";
import type { ProgressValue } from "../model/task.ts";

/** A task as the pool sees it. */
export interface PoolJob {
  id: string;
  type: string;
  payload: unknown;
  attempt: number;
  timeoutMs: number;
}

/** Why a worker's tasks were taken from it. */
export type InterruptCause =
  | { kind: "timeout"; taskId: string; timeoutMs: number }
  | { kind: "cancelled"; taskId: string }
  | {
    kind: "crashed";
    reason: string;
    /** Tasks the worker had not started (batched behind others): not the crash's cause. */
    unstarted?: ReadonlySet<string>;
  }
  | { kind: "shutdown" };

/** How the pool talks back to the engine. */
export interface PoolHooks {
  /** The type of the task `take` would hand out next, or `undefined` when none waits. */
  peekType(): string | undefined;
  /**
   * Hands out up to `limit` tasks for `slot`, most urgent first, while
   * `accept(nextType, takenSoFar)` agrees. The engine marks them running.
   */
  take(slot: number, limit: number, accept: (type: string, taken: number) => boolean): PoolJob[];
  /** How many tasks wait for a worker. */
  backlog(): number;
  /** Jobs finished (or threw) in their worker. */
  settled(slot: number, outcomes: JobOutcome[]): void;
  progress(id: string, value: ProgressValue): void;
  /** A worker was replaced while holding these tasks. */
  interrupted(slot: number, ids: string[], cause: InterruptCause): void;
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
  dispatchBatch: number;
  cancelGraceMs: number;
  nodeId: string;
  /** Permission groups; every slot starts in the first. */
  groups: WorkerGroup[];
  /** Run workers with their group's permissions (`true`) or inherit this process's. */
  sandbox: boolean;
  hooks: PoolHooks;
}

interface InFlight {
  type: string;
  timeoutMs: number;
  /** Whether its timeout runs: the worker has (as far as the pool knows) started it. */
  armed: boolean;
}

interface Slot {
  id: number;
  /** Index of the permission group its worker runs. */
  group: number;
  worker: Worker | null;
  ready: boolean;
  /** Tasks the worker holds, in the order sent: the worker starts them in this order. */
  inFlight: Map<string, InFlight>;
  /** How many of `inFlight` have their timeout armed. */
  armed: number;
  firstProgress: number | null;
  completed: number;
  failed: number;
  restarts: number;
  startedAt: number;
  onReady?: (invalid: Array<{ type: string; url: string; reason: string }>) => void;
}

interface PoolDeadline {
  slot: number;
  taskId: string;
  kind: "timeout" | "cancel";
  timeoutMs: number;
}

/** A task whose handler runs faster than this (ms, moving average) may be batched. */
const FAST_TASK_MS = 1;
const WORKER_URL = new URL("./worker_runtime.ts", import.meta.url);

/**
 * Runs jobs on module workers.
 *
 * @example
 * ```ts ignore
 * const pool = new WorkerPool({ size: 2, concurrency: 1, dispatchBatch: 64, cancelGraceMs: 1000,
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
  #filling = false;
  /** Tasks asked to abort whose grace deadline runs (few: a set saves a lookup per task). */
  #cancelling = new Set<string>();
  /** Worker entry module (a data: URL) per group. */
  #entries: string[];
  #groupOfType = new Map<string, number>();
  readonly #isFast = (type: string) => (this.#typeRunMs.get(type) ?? Infinity) < FAST_TASK_MS;

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
    const readies: Promise<Array<{ type: string; url: string; reason: string }>>[] = [];
    for (let id = 0; id < this.#options.size; id++) {
      const slot: Slot = {
        id,
        group: 0,
        worker: null,
        ready: false,
        inFlight: new Map(),
        armed: 0,
        firstProgress: null,
        completed: 0,
        failed: 0,
        restarts: 0,
        startedAt: Date.now(),
      };
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

  /** Tasks currently held by workers. */
  get inFlight(): number {
    let count = 0;
    for (const slot of this.#slots) count += slot.inFlight.size;
    return count;
  }

  /** Gives free worker capacity to waiting tasks. Cheap to call often. */
  fill(): void {
    if (this.#closed || this.#filling) return;
    this.#filling = true;
    try {
      const { concurrency, dispatchBatch } = this.#options;
      // Each round serves the most urgent task's permission group; it ends when
      // no worker of that group has room.
      for (let round = 0; round <= this.#slots.length * 2; round++) {
        const type = this.#hooks.peekType();
        if (type === undefined) break;
        const group = this.#groupOfType.get(type) ?? 0;
        const slot = this.#roomiest(group);
        if (slot === undefined) {
          this.#switchIdleWorker(group);
          break;
        }
        const free = concurrency - slot.inFlight.size;
        const backlog = this.#hooks.backlog();
        // Deep queue: let this worker hold up to dispatchBatch fast tasks, its fair share of the backlog.
        const share = Math.ceil(backlog / this.#slots.length);
        const extra = dispatchBatch > 1 && backlog > free * this.#slots.length
          ? Math.max(0, Math.min(dispatchBatch, share) - free - slot.inFlight.size)
          : 0;
        const jobs = this.#hooks.take(
          slot.id,
          free + extra,
          (next, taken) =>
            (this.#groupOfType.get(next) ?? 0) === group && (taken < free || this.#isFast(next)),
        );
        if (jobs.length === 0) break;
        this.#send(slot, jobs);
      }
    } finally {
      this.#filling = false;
    }
  }

  /** The ready worker of `group` with the most room, or `undefined` when all are full. */
  #roomiest(group: number): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (!slot.ready || slot.group !== group) continue;
      if (slot.inFlight.size >= this.#options.concurrency) continue;
      if (best === undefined || slot.inFlight.size < best.inFlight.size) best = slot;
    }
    return best;
  }

  /**
   * No worker of `group` has room: when one of another group is idle and none
   * of `group` is starting, restart it with `group`'s permissions.
   */
  #switchIdleWorker(group: number): void {
    if (this.#slots.some((slot) => slot.group === group && slot.worker !== null && !slot.ready)) {
      return;
    }
    const idle = this.#slots.find((slot) =>
      slot.ready && slot.group !== group && slot.inFlight.size === 0
    );
    if (idle === undefined) return;
    this.#stopWorker(idle);
    this.#hooks.workerEvent("worker.exited", this.#infoOf(idle), "switching permissions");
    idle.group = group;
    this.#spawn(idle);
  }

  /** Asks the worker holding `taskId` to abort it; replaces the worker if it has not stopped in time. */
  cancel(taskId: string): void {
    const slot = this.#slotOf(taskId);
    if (slot === undefined) return;
    this.#post(slot, { kind: "abort", id: taskId });
    this.#cancelling.add(taskId);
    this.#deadlines.set(`cancel:${taskId}`, Date.now() + this.#options.cancelGraceMs, {
      slot: slot.id,
      taskId,
      kind: "cancel",
      timeoutMs: 0,
    });
  }

  /** State of every slot. */
  info(): WorkerInfo[] {
    return this.#slots.map((slot) => this.#infoOf(slot));
  }

  /** Total worker replacements across slots. */
  get restarts(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.restarts, 0);
  }

  /** Terminates every worker and clears every timer; tasks still held are reported interrupted. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#deadlines.close();
    for (const slot of this.#slots) {
      const ids = [...slot.inFlight.keys()];
      this.#stopWorker(slot);
      if (ids.length > 0) this.#hooks.interrupted(slot.id, ids, { kind: "shutdown" });
      this.#hooks.workerEvent("worker.exited", this.#infoOf(slot), "shutdown");
    }
    return Promise.resolve();
  }

  #send(slot: Slot, jobs: PoolJob[]): void {
    const wire: Job[] = [];
    const transfer: Transferable[] = [];
    for (const job of jobs) {
      slot.inFlight.set(job.id, { type: job.type, timeoutMs: job.timeoutMs, armed: false });
      wire.push([job.id, job.type, job.payload, job.attempt]);
      if (job.payload instanceof Uint8Array && job.payload.buffer instanceof ArrayBuffer) {
        if (!transfer.includes(job.payload.buffer)) transfer.push(job.payload.buffer);
      }
    }
    this.#armStarted(slot);
    try {
      const message: ToWorker = { kind: "run", jobs: wire };
      // Without a transfer list Deno takes a faster path.
      if (transfer.length === 0) slot.worker!.postMessage(message);
      else slot.worker!.postMessage(message, transfer);
    } catch {
      // Something in a payload cannot be cloned: send the jobs one by one so only
      // the offending tasks fail, and the worker and its other tasks are unharmed.
      this.#sendEach(slot, jobs);
    }
  }

  #sendEach(slot: Slot, jobs: PoolJob[]): void {
    const refused: JobOutcome[] = [];
    for (const job of jobs) {
      const bytes = job.payload instanceof Uint8Array && job.payload.buffer instanceof ArrayBuffer
        ? [job.payload.buffer]
        : [];
      try {
        const message: ToWorker = {
          kind: "run",
          jobs: [[job.id, job.type, job.payload, job.attempt]],
        };
        slot.worker!.postMessage(message, bytes);
      } catch (error) {
        const failure = toTaskError(error);
        failure.message = `The task's payload cannot be sent to a worker: ${failure.message}`;
        refused.push([job.id, false, failure, 0]);
      }
    }
    if (refused.length > 0) this.#onDone(slot, refused);
  }

  /**
   * Arms the timeouts of the tasks the worker has started: the first
   * `concurrency` it holds. Tasks batched behind them wait unarmed, so a task
   * never times out before it starts.
   */
  #armStarted(slot: Slot): void {
    const running = Math.min(this.#options.concurrency, slot.inFlight.size);
    if (slot.armed >= running) return;
    const now = Date.now();
    for (const [id, flight] of slot.inFlight) {
      if (slot.armed >= running) break;
      if (flight.armed) continue;
      flight.armed = true;
      slot.armed++;
      this.#deadlines.set(id, now + flight.timeoutMs, {
        slot: slot.id,
        taskId: id,
        kind: "timeout",
        timeoutMs: flight.timeoutMs,
      });
    }
  }

  #post(slot: Slot, message: ToWorker, transfer: Transferable[] = []): void {
    try {
      if (transfer.length === 0) slot.worker?.postMessage(message);
      else slot.worker?.postMessage(message, transfer);
    } catch (error) {
      this.#replace(slot, { kind: "crashed", reason: `a message could not be sent: ${error}` });
    }
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
    const worker = new Worker(this.#entries[slot.group], options);
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = Date.now();
    slot.onReady = onReady;
    worker.onmessage = (event: MessageEvent<FromWorker>) =>
      this.#onMessage(slot, worker, event.data);
    worker.onerror = (event: ErrorEvent) => {
      // Handled here: an uncaught error in a worker must not take the process down.
      event.preventDefault();
      if (slot.worker === worker) {
        this.#replace(slot, { kind: "crashed", reason: event.message || "an uncaught error" });
      }
    };
    worker.onmessageerror = () => {
      if (slot.worker === worker) {
        this.#replace(slot, { kind: "crashed", reason: "a message could not be read" });
      }
    };
    this.#post(slot, {
      kind: "init",
      slot: slot.id,
      concurrency: this.#options.concurrency,
    });
  }

  #onMessage(slot: Slot, worker: Worker, message: FromWorker): void {
    if (slot.worker !== worker || this.#closed) return;
    switch (message.kind) {
      case "ready": {
        slot.ready = true;
        const onReady = slot.onReady;
        slot.onReady = undefined;
        onReady?.(message.invalid);
        this.#hooks.workerEvent("worker.started", this.#infoOf(slot));
        this.fill();
        break;
      }
      case "done":
        this.#onDone(slot, message.outcomes);
        break;
      case "progress":
        if (slot.inFlight.has(message.id)) {
          if (slot.inFlight.keys().next().value === message.id) {
            slot.firstProgress = toFraction(message.value);
          }
          this.#hooks.progress(message.id, message.value);
        }
        break;
      case "exiting":
        this.#replace(slot, { kind: "crashed", reason: message.reason });
        break;
    }
  }

  #onDone(slot: Slot, outcomes: JobOutcome[]): void {
    const settled: JobOutcome[] = [];
    for (const outcome of outcomes) {
      const [id, ok, , runMs] = outcome;
      const flight = slot.inFlight.get(id);
      if (flight === undefined) continue; // timed out or replaced already
      slot.inFlight.delete(id);
      if (flight.armed) slot.armed--;
      this.#deadlines.delete(id);
      // A run that ended because it was cancelled is not a failure of the worker's.
      const cancelled = this.#cancelling.delete(id);
      if (cancelled) this.#deadlines.delete(`cancel:${id}`);
      const average = this.#typeRunMs.get(flight.type);
      this.#typeRunMs.set(flight.type, average === undefined ? runMs : average * 0.8 + runMs * 0.2);
      if (ok) slot.completed++;
      else if (!cancelled) slot.failed++;
      settled.push(outcome);
    }
    if (slot.inFlight.size === 0) slot.firstProgress = null;
    this.#armStarted(slot);
    if (settled.length > 0) this.#hooks.settled(slot.id, settled);
    this.fill();
  }

  #onDeadlines(due: PoolDeadline[]): void {
    for (const deadline of due) {
      const slot = this.#slots[deadline.slot];
      if (deadline.kind === "cancel") this.#cancelling.delete(deadline.taskId);
      if (!slot.inFlight.has(deadline.taskId)) continue;
      const cause: InterruptCause = deadline.kind === "timeout"
        ? { kind: "timeout", taskId: deadline.taskId, timeoutMs: deadline.timeoutMs }
        : { kind: "cancelled", taskId: deadline.taskId };
      this.#replace(slot, cause);
    }
  }

  /** Terminates the slot's worker, reports its tasks, and starts a new one. */
  #replace(slot: Slot, cause: InterruptCause): void {
    if (this.#closed || slot.worker === null) return;
    const ids = [...slot.inFlight.keys()];
    if (cause.kind === "crashed") {
      const unstarted = new Set<string>();
      for (const [id, flight] of slot.inFlight) if (!flight.armed) unstarted.add(id);
      cause = { ...cause, unstarted };
    }
    this.#stopWorker(slot);
    slot.restarts++;
    const reason = cause.kind === "timeout"
      ? "timeout"
      : cause.kind === "cancelled"
      ? "cancel-grace"
      : cause.kind === "crashed"
      ? `crashed: ${cause.reason}`
      : "shutdown";
    this.#hooks.workerEvent("worker.exited", this.#infoOf(slot), reason);
    if (ids.length > 0) this.#hooks.interrupted(slot.id, ids, cause);
    this.#spawn(slot);
  }

  #stopWorker(slot: Slot): void {
    for (const id of slot.inFlight.keys()) {
      this.#deadlines.delete(id);
      if (this.#cancelling.delete(id)) this.#deadlines.delete(`cancel:${id}`);
    }
    slot.inFlight.clear();
    slot.armed = 0;
    slot.firstProgress = null;
    slot.worker?.terminate();
    slot.worker = null;
    slot.ready = false;
  }

  #slotOf(taskId: string): Slot | undefined {
    return this.#slots.find((slot) => slot.inFlight.has(taskId));
  }

  #infoOf(slot: Slot): WorkerInfo {
    return {
      id: slot.id,
      nodeId: this.#options.nodeId,
      state: slot.worker === null
        ? "stopped"
        : !slot.ready
        ? "starting"
        : slot.inFlight.size > 0
        ? "busy"
        : "idle",
      taskIds: [...slot.inFlight.keys()],
      progress: slot.firstProgress,
      completed: slot.completed,
      failed: slot.failed,
      restarts: slot.restarts,
      startedAt: slot.startedAt,
    };
  }
}

/**
 * The entry module of a worker: the runtime and the group's task modules,
 * imported statically so they load with the worker whatever its permissions.
 */
function entryModule(types: Record<string, string>): string {
  const names = Object.keys(types);
  const lines = [`import { registerTaskTypes } from ${JSON.stringify(WORKER_URL.href)};`];
  names.forEach((_, i) => lines.push(`import * as t${i} from ${JSON.stringify(types[names[i]])};`));
  const modules = names.map((name, i) => `${JSON.stringify(name)}: t${i}`).join(", ");
  lines.push(`registerTaskTypes({ ${modules} }, ${JSON.stringify(types)});`);
  return `data:application/javascript,${encodeURIComponent(lines.join("\n"))}`;
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
