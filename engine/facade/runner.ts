/**
 * The engine loop: takes tasks from the source, hands them to the pool,
 * moves each through the state machine as the pool reports starts and
 * outcomes, and applies the retry policy. Written once for every store: the
 * source hides whether the queue is local or claimed from a shared store.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";
import { TaskConflictError, TaskNotFoundError } from "../model/errors.ts";
import {
  TERMINAL_EVENT_TYPES,
  type ThreadFlowEvent,
  type WorkerEventType,
  type WorkerInfo,
} from "../model/events.ts";
import type { Lifecycle } from "../model/lifecycle.ts";
import { isTerminal, type ProgressValue, type Task, type TaskError } from "../model/task.ts";
import { TaskIndex } from "../model/task_index.ts";
import type { TaskStore } from "../store/store.ts";
import type { InterruptCause, PoolHooks } from "../pool/hooks.ts";
import { toFraction } from "../pool/protocol.ts";
import type { StoreChange, TaskSource } from "../source/source.ts";
import type { StoreWriter } from "../store/store_writer.ts";
import type { TypeGate } from "../source/type_gate.ts";
import { retryTask } from "./retry.ts";
import { failRun, type FailureParts, interruptRun, payloadLost } from "./run_failures.ts";
import type { StatsRecorder } from "./stats.ts";
import type { Waiters } from "./waiters.ts";

/** What the loop needs to know of the engine's options. */
export interface RunnerOptions {
  nodeId: string;
  backoffMs: number;
  maxBackoffMs: number;
  progressIntervalMs: number;
}

/** The pool as the loop uses it. */
export interface RunnerPool {
  fill(): void;
  /** Jobs held by workers, started or not. */
  readonly held: number;
  /** Jobs held and not started. */
  readonly pending: number;
  cancel(id: string): "taken" | "aborting" | "unknown";
  /** Tasks of this priority are coming: take back less urgent ones not started. */
  makeWay(priority: number): void;
}

/** The parts the loop drives; the facade builds them. */
export interface RunnerParts {
  store: TaskStore;
  lifecycle: Lifecycle;
  writer: StoreWriter;
  stats: StatsRecorder;
  waiters: Waiters;
  /** Which types may start now (pause, limits); counts what workers hold. */
  gate: TypeGate;
  /** Told when a task ends: its dependents may be released. */
  ended(task: Task): void;
}

/**
 * Tasks admitted since the last fill that make waiting for the end of the
 * turn pointless: they fill a worker's message by themselves. A large
 * `submitBatch` then starts running while the next one is being built.
 */
const FILL_NOW_BACKLOG = 256;

/** The error a cancelled task records. */
export const CANCELLED: TaskError = { name: "CancelledError", message: "The task was cancelled." };

/**
 * Drives tasks from source to pool to their end. The facade owns it and
 * calls {@linkcode Runner.fill} whenever work may have become available.
 */
export class Runner {
  /** Unfinished tasks this node holds (all of them with a local source), by id. */
  readonly live = new TaskIndex<Task>();
  #options: RunnerOptions;
  #parts: RunnerParts;
  #source!: TaskSource;
  #pool!: RunnerPool;
  #accepting = true;
  #lastProgressEmit = new Map<string, number>();
  #drained: (() => void) | undefined;
  #fillTimer: ReturnType<typeof setImmediate> | undefined;
  /** Tasks admitted since the pool was last filled from here. */
  #admittedUnfilled = 0;
  #failures: FailureParts;

  constructor(options: RunnerOptions, parts: RunnerParts) {
    this.#options = options;
    this.#parts = parts;
    this.#failures = {
      lifecycle: parts.lifecycle,
      stats: parts.stats,
      backoffMs: options.backoffMs,
      maxBackoffMs: options.maxBackoffMs,
      place: (task, now) => this.place(task, now),
      accepting: () => this.#accepting,
    };
  }

  /** Connects the source and the pool (they are built with this runner's hooks). */
  connect(source: TaskSource, pool: RunnerPool): void {
    this.#source = source;
    this.#pool = pool;
  }

  /** Stops handing out tasks (draining). */
  stopAccepting(): void {
    this.#accepting = false;
    if (this.#fillTimer !== undefined) clearImmediate(this.#fillTimer);
    this.#fillTimer = undefined;
  }

  /** The hooks the pool calls. */
  readonly poolHooks: PoolHooks = {
    peek: (now) => {
      if (!this.#accepting) return undefined;
      this.#parts.gate.at(now);
      return this.#source.peek(now, this.#parts.gate.filter);
    },
    take: (now) => {
      const task = this.#source.take(now, this.#parts.gate.filter);
      this.#parts.gate.took(task);
      return task;
    },
    backlog: () => this.#accepting ? this.#source.size : 0,
    giveBack: (jobs) => {
      for (const job of jobs) this.#parts.gate.released(job, true);
      this.#source.giveBack(jobs as Task[]);
    },
    started: (job, slot, startedAt) => this.#started(job as Task, slot, startedAt),
    settled: (job, ok, value, finishedAt, runMs, payload) =>
      this.#settled(job as Task, ok, value, finishedAt, runMs, payload),
    interrupted: (jobs, cause) => this.#interrupted(jobs as Task[], cause),
    dropped: (job, payload) => {
      // A cancelled run is over: give back the bytes it moved, if its task lost them.
      if (payload !== undefined && payloadLost(job)) (job as Task).payload = payload;
      this.#parts.gate.released(job);
      this.#checkDrained();
      this.#source.refill(job.type);
    },
    progress: (job, value) => this.#progress(job as Task, value),
    workerEvent: (type, worker, reason) => this.#workerEvent(type, worker, reason),
  };

  /** Tasks just created in the store: announce them and queue the ones this node holds. */
  admit(tasks: Task[]): void {
    const now = Date.now();
    const { lifecycle } = this.#parts;
    let top = 0;
    let here = 0;
    for (const task of tasks) {
      if (this.#source.admit(task, now)) {
        this.live.add(task);
        here++;
      }
      lifecycle.create(task);
      if (task.status === "queued" && task.priority > top) top = task.priority;
    }
    if (top > 0) this.#pool.makeWay(top);
    this.#admittedUnfilled += here;
    // Workers with nothing to do, or a backlog that fills a message anyway: no reason to wait.
    // Tasks a shared store holds are not here yet (a claim brings them): those wait as before.
    if (here > 0 && (this.#pool.held === 0 || this.#admittedUnfilled >= FILL_NOW_BACKLOG)) {
      this.#fillNow();
    } else {
      this.#fillSoon();
    }
  }

  /**
   * Fills the pool once the submits of this event-loop turn are all in:
   * tasks admitted by concurrent requests then go to a worker in one message
   * (and come back in one report) instead of one each, which is most of a
   * lone submit's cost. A turn is microseconds on an idle loop.
   */
  #fillSoon(): void {
    this.#fillTimer ??= setImmediate(() => this.#fillNow());
  }

  #fillNow(): void {
    if (this.#fillTimer !== undefined) clearImmediate(this.#fillTimer);
    this.#fillTimer = undefined;
    this.#admittedUnfilled = 0;
    try {
      this.#pool.fill();
    } catch (error) {
      // The submit that got here has succeeded, and a timer's throw would end the process.
      console.error("ThreadFlow could not hand tasks to its workers:", error);
    }
  }

  /** `task` (held here) just moved to `queued` or `scheduled`: put it where it waits. */
  place(task: Task, now: number): void {
    if (!this.#source.place(task, now)) this.live.delete(task.id);
    else this.live.add(task);
    if (task.status === "queued") this.#pool.fill();
  }

  /** Scheduled tasks of a local source came due. */
  due(tasks: Task[]): void {
    const now = Date.now();
    for (const task of tasks) {
      if (task.status !== "scheduled") continue;
      this.#parts.lifecycle.move(task, "queued");
      this.#source.place(task, now);
    }
    this.#pool.fill();
  }

  /** Set while re-emitting another node's event, so it is not published back. */
  relaying = false;

  /** Re-emits an event another node emitted (and resolves waiters of a task it ended). */
  relay(event: ThreadFlowEvent): void {
    this.relaying = true;
    try {
      this.#parts.lifecycle.emit(event);
    } finally {
      this.relaying = false;
    }
    if ("task" in event && TERMINAL_EVENT_TYPES.has(event.type as never)) {
      this.#parts.waiters.resolve(event.task);
    }
  }

  /** Changes a shared store made itself, through the state machine. */
  applied(changes: StoreChange[]): void {
    for (const { task, from } of changes) {
      try {
        this.#parts.lifecycle.apply(task, from);
      } catch (error) {
        console.error("ThreadFlow refused a status change made in the store:", error);
      }
    }
  }

  /** This node no longer holds these tasks: drop them without a word (their new holder speaks). */
  lost(ids: string[]): void {
    for (const id of ids) {
      const task = this.live.get(id);
      if (task === undefined) continue;
      this.live.delete(id);
      // A run under way is aborted and its outcome dropped (see PoolHooks.dropped).
      const held = this.#pool.cancel(id);
      if (held === "unknown") this.#source.remove(task);
      else if (held === "taken") this.#parts.gate.released(task, true);
    }
  }

  /**
   * Retries `task` with backoff when attempts remain; fails it otherwise,
   * finished at `finishedAt` (the worker's clock when it reported the end).
   */
  fail(task: Task, error: Error | TaskError, finishedAt: number): void {
    failRun(this.#failures, task, error, finishedAt);
  }

  /**
   * Cancels a task: a waiting one (in the source, or handed to a worker and
   * not started) never runs; a running one is aborted. Rejects with
   * `TaskConflictError` when it has ended.
   */
  async cancel(id: string): Promise<Task> {
    const task = this.live.get(id);
    if (task === undefined) return await this.#cancelElsewhere(id);
    if (isTerminal(task.status)) throw conflict(task);
    // Held by a worker: taken back unstarted, or (once started) aborted; else waiting here.
    const held = task.status === "queued" || task.status === "running"
      ? this.#pool.cancel(id)
      : "unknown";
    if (held === "unknown") this.#source.remove(task);
    else if (held === "taken") this.#parts.gate.released(task, true);
    this.#parts.lifecycle.move(task, "cancelled", { finishedAt: Date.now(), error: CANCELLED });
    this.#source.refill(held === "taken" ? task.type : undefined);
    return { ...task };
  }

  async #cancelElsewhere(id: string): Promise<Task> {
    const change = await this.#source.cancelElsewhere(id, CANCELLED);
    if (change !== undefined) {
      this.applied([change]);
      return { ...change.task };
    }
    const stored = await this.#parts.store.get(id);
    if (stored === undefined) throw new TaskNotFoundError(id);
    throw conflict(stored);
  }

  /**
   * Runs a failed or cancelled task again, with the same id and priority and
   * a fresh set of attempts. `room` checks the queue limit first.
   */
  retry(id: string, room: (count: number) => Promise<void>): Promise<Task> {
    return retryTask(
      {
        live: this.live,
        store: this.#parts.store,
        lifecycle: this.#parts.lifecycle,
        place: (task, now) => this.place(task, now),
      },
      id,
      room,
    );
  }

  /** Resolves once no worker holds a task (or at once when none does). */
  drained(): Promise<void> {
    if (this.#pool.held === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained = resolve);
  }

  /** The lifecycle's `ended` hook: a task reached a terminal status. */
  ended(task: Task): void {
    this.live.delete(task.id);
    if (this.#lastProgressEmit.size > 0) this.#lastProgressEmit.delete(task.id);
    this.#parts.stats.recordFinished(task.finishedAt ?? Date.now());
    this.#parts.waiters.resolve(task);
    this.#parts.ended(task);
  }

  #started(task: Task, slot: number, startedAt: number): void {
    if (task.status !== "queued") return;
    this.#parts.stats.recordWait(task.priority, Math.max(0, startedAt - task.runAt));
    this.#parts.lifecycle.start(task, startedAt, slot, this.#options.nodeId);
  }

  #settled(
    task: Task,
    ok: boolean,
    value: unknown,
    finishedAt: number,
    runMs: number,
    payload: Uint8Array | undefined,
  ): void {
    if (payload !== undefined) task.payload = payload;
    this.#parts.gate.released(task);
    this.#parts.stats.run.record(runMs);
    if (task.status === "running") {
      this.#parts.stats.byType.record(
        task.type,
        ok,
        runMs,
        ok ? null : value as TaskError,
        task.id,
        finishedAt,
      );
      if (ok) {
        this.#parts.lifecycle.succeed(task, value, finishedAt);
      } else {
        this.fail(task, value as TaskError, finishedAt);
      }
    }
    this.#checkDrained();
    this.#source.refill(task.type);
  }

  #interrupted(tasks: Task[], cause: InterruptCause): void {
    const now = Date.now();
    for (const task of tasks) {
      this.#parts.gate.released(task);
      if (task.status === "running") interruptRun(this.#failures, task, cause, now);
    }
    this.#checkDrained();
    for (const task of tasks) this.#source.refill(task.type);
  }

  #progress(task: Task, value: ProgressValue): void {
    if (task.status !== "running") return;
    task.progress = toFraction(value);
    const now = Date.now();
    const last = this.#lastProgressEmit.get(task.id) ?? 0;
    if (now - last < this.#options.progressIntervalMs) return;
    this.#lastProgressEmit.set(task.id, now);
    this.#parts.writer.mark(task);
    this.#parts.lifecycle.progress(task);
  }

  #workerEvent(type: WorkerEventType, worker: WorkerInfo, reason?: string): void {
    const event = { type, at: Date.now(), worker, ...(reason === undefined ? {} : { reason }) };
    this.#parts.lifecycle.emit(event);
  }

  #checkDrained(): void {
    if (this.#drained !== undefined && this.#pool.held === 0) {
      const resolve = this.#drained;
      this.#drained = undefined;
      resolve();
    }
  }
}

function conflict(task: Task): TaskConflictError {
  return new TaskConflictError(
    `Task ${task.id} has already ${task.status}; only scheduled, queued or running tasks can be cancelled.`,
  );
}
