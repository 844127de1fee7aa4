/**
 * The engine: accepts tasks, keeps them in the priority queue (or the delay
 * heap), feeds the worker pool, records every transition in the store and
 * announces it as an event.
 *
 * @module
 */

import {
  ClosedError,
  QueueFullError,
  TaskConflictError,
  TaskNotFoundError,
  TimeoutError,
  ValidationError,
  WorkerExitedError,
} from "../model/errors.ts";
import {
  type EventListener,
  TERMINAL_EVENT_TYPES,
  type ThreadFlowEvent,
  type WorkerEventType,
  type WorkerInfo,
} from "../model/events.ts";
import { ClusterLink } from "../source/cluster.ts";
import { Lifecycle } from "../model/lifecycle.ts";
import { type ResolvedOptions, resolveOptions, type ThreadFlowOptions } from "./options.ts";
import {
  type InterruptCause,
  type PoolJob,
  toFraction,
  type WorkerGroup,
  WorkerPool,
} from "../pool/pool.ts";
import { NO_PERMISSIONS, permissionsKey } from "../pool/permissions.ts";
import { PriorityQueue } from "../source/priority_queue.ts";
import { DeadlineQueue } from "../source/deadline_queue.ts";
import { type EngineStats, StatsRecorder, workerTotals } from "./stats.ts";
import { buildTask } from "./submit.ts";
import { loadTaskTypes, type TaskTypeInfo } from "../pool/task_types.ts";
import { StoreWriter } from "../store/store_writer.ts";
import { Retention } from "./retention.ts";
import { Waiters } from "./waiters.ts";
import {
  isTerminal,
  type ProgressValue,
  type SubmitInput,
  type SubmitResult,
  type Task,
  type TaskError,
} from "../model/task.ts";
import { MemoryStore } from "../store/memory_store.ts";
import type { TaskPage, TaskQuery, TaskStore } from "../store/store.ts";
import { type ClaimedTask, isSharedStore, type SharedTaskStore } from "../store/shared_store.ts";
import type { JobOutcome } from "../pool/protocol.ts";

/** Options for {@linkcode ThreadFlow.close}. */
export interface CloseOptions {
  /** How long running tasks may take to finish before they are interrupted. Default 10,000 ms. */
  drainMs?: number;
}

/** One node of a cluster and its workers (a single entry without a shared store). */
export interface NodeWorkers {
  nodeId: string;
  workers: WorkerInfo[];
}

/** Options for {@linkcode ThreadFlow.wait}. */
export interface WaitOptions {
  /** Stops waiting (rejecting with the signal's reason). */
  signal?: AbortSignal;
}

/** Most tasks a node claims ahead of its workers when tasks are quick (shared stores). */
const CLAIM_AHEAD = 256;
/** Waited-for tasks looked up per sweep in shared mode. */
const WAITER_POLL_BATCH = 100;

const idOf = (task: Task) => task.id;

/**
 * A task engine: a priority queue feeding a pool of module Web Workers.
 *
 * @example
 * ```ts
 * import { ThreadFlow } from "./mod.ts";
 * const tf = await ThreadFlow.start({ workers: 2 });
 * const task = await tf.submit({ type: "fib", payload: { n: 20 }, priority: 9 });
 * const done = await tf.wait(task.id); // done.result === 6765
 * await tf.close();
 * ```
 */
export class ThreadFlow {
  /** Resolved options, every default filled in. */
  readonly options: Readonly<ResolvedOptions>;
  readonly store: TaskStore;
  readonly nodeId: string;
  #state: "running" | "draining" | "closed" = "running";
  #types: Map<string, TaskTypeInfo>;
  #lifecycle: Lifecycle;
  #queue: PriorityQueue<Task>;
  #delayed: DeadlineQueue<Task>;
  #pool: WorkerPool;
  /** Tasks not finished, by id. */
  #live = new Map<string, Task>();
  /** Tasks handed to a worker and not yet given back (may be cancelled already). */
  #held = new Map<string, Task>();
  #waiters = new Waiters();
  #writer: StoreWriter;
  #retention: Retention;
  #lastProgressEmit = new Map<string, number>();
  #stats = new StatsRecorder();
  #reserved = 0;
  #startedAt = Date.now();
  #drained: (() => void) | undefined;
  /** Set when the store is shared: the queue lives in the store and tasks are claimed. */
  #shared: SharedTaskStore | null;
  #cluster: ClusterLink | null = null;
  /** Claimed tasks not yet handed to a worker (shared store only). */
  #claimed: Task[] = [];
  /** Set while re-emitting another node's event, so it is not published back. */
  #relaying = false;

  private constructor(
    options: ResolvedOptions,
    store: TaskStore,
    types: Map<string, TaskTypeInfo>,
  ) {
    this.options = Object.freeze(options);
    this.store = store;
    this.nodeId = options.nodeId;
    this.#types = types;
    this.#shared = isSharedStore(store) ? store : null;
    this.#lifecycle = new Lifecycle({
      changed: (task) => this.#writer.mark(task),
      ended: (task) => this.#onEnded(task),
    });
    this.#queue = new PriorityQueue<Task>({ agingMs: options.agingMs });
    this.#delayed = new DeadlineQueue<Task>((due) => this.#promote(due));
    this.#pool = new WorkerPool({
      size: options.workers,
      concurrency: options.concurrencyPerWorker,
      dispatchBatch: options.dispatchBatch,
      cancelGraceMs: options.cancelGraceMs,
      nodeId: options.nodeId,
      groups: permissionGroups(types),
      sandbox: options.sandbox,
      hooks: {
        peekType: () => this.#peekType(),
        take: (slot, limit, accept) => this.#take(slot, limit, accept),
        backlog: () =>
          this.#state !== "running" ? 0 : this.#shared ? this.#claimed.length : this.#queue.size,
        settled: (slot, outcomes) => this.#settled(slot, outcomes),
        progress: (id, value) => this.#progress(id, value),
        interrupted: (_slot, ids, cause) => this.#interrupted(ids, cause),
        workerEvent: (type, worker, reason) => this.#workerEvent(type, worker, reason),
      },
    });
    if (this.#shared !== null) this.#link(this.#shared);
    this.#writer = new StoreWriter(
      store,
      this.#shared === null ? null : { store: this.#shared, leases: this.#cluster!.leases },
    );
    this.#retention = new Retention(store, {
      retentionMs: options.retentionMs,
      retentionMaxFinished: options.retentionMaxFinished,
      onPruned: async () => {
        const { succeeded, failed, cancelled } = await store.counts();
        this.#lifecycle.recount({ succeeded, failed, cancelled });
      },
    });
  }

  #link(store: SharedTaskStore): void {
    const capacity = this.options.workers * this.options.concurrencyPerWorker;
    this.#cluster = new ClusterLink(store, {
      nodeId: this.nodeId,
      leaseMs: this.options.leaseMs,
      heartbeatMs: this.options.heartbeatMs,
      sweepMs: 1_000,
    }, {
      freeCapacity: () => {
        if (this.#state !== "running") return 0;
        // Quick tasks: claim ahead (up to CLAIM_AHEAD) so workers never wait on a round trip.
        const quick = this.#stats.run.count > 0 && this.#stats.run.percentile(0.5) < 5;
        const target = quick ? Math.max(capacity, CLAIM_AHEAD) : capacity;
        return target - this.#pool.inFlight - this.#claimed.length;
      },
      claimed: (claimed) => this.#onClaimed(claimed),
      leasesLost: (ids) => this.#onLeasesLost(ids),
      cancelRequested: (id) => this.#onRemoteCancel(id),
      remoteEvent: (event) => this.#onRemoteEvent(event),
      swept: (reclaimed, promoted) => this.#onSwept(reclaimed, promoted),
      workers: () => this.#pool.info(),
    });
    this.#lifecycle.listen((event) => {
      if (!this.#relaying) this.#cluster?.publish(event);
    });
  }

  /**
   * Starts an engine: opens the store, recovers unfinished tasks, starts the
   * workers. Rejects with an error naming the option or task module at fault.
   */
  static async start(options: ThreadFlowOptions = {}): Promise<ThreadFlow> {
    const resolved = resolveOptions(options);
    const store = options.store ?? new MemoryStore();
    const types = await loadTaskTypes(resolved.tasksDir, { sandbox: resolved.sandbox });
    const unfinished = await store.open();
    const engine = new ThreadFlow(resolved, store, types);
    try {
      engine.#lifecycle.recount(await store.counts());
      if (engine.#shared === null) engine.#recover(unfinished);
      await engine.#pool.start();
      await engine.#cluster?.start();
    } catch (error) {
      engine.#state = "closed";
      engine.#delayed.close();
      await engine.#pool.close();
      await store.close();
      throw error;
    }
    engine.#retention.start();
    engine.#pool.fill();
    engine.#cluster?.claim();
    return engine;
  }

  /** `running`; `draining` once `close()` was called; then `closed`. */
  get state(): "running" | "draining" | "closed" {
    return this.#state;
  }

  /** `false` while a shared store is unreachable (the engine keeps trying). */
  get healthy(): boolean {
    return this.#shared === null || this.#shared.healthy;
  }

  /** Submits one task. Resolves once it is recorded in the store. */
  async submit(input: SubmitInput): Promise<Task> {
    const [outcome] = await this.#submit([input], false);
    return outcome.task;
  }

  /**
   * Submits several tasks, validated as a whole: one bad input rejects them
   * all with an error whose `field` names it (`tasks[3].priority`).
   */
  submitBatch(inputs: SubmitInput[]): Promise<SubmitResult[]> {
    return this.#submit(inputs, true);
  }

  /** The task with this id (a snapshot), or `undefined`. */
  async get(id: string): Promise<Task | undefined> {
    const live = this.#live.get(id);
    if (live !== undefined) return { ...live };
    const stored = await this.store.get(id);
    return stored === undefined ? undefined : { ...stored };
  }

  /** A page of tasks, newest first. */
  async list(query: TaskQuery = {}): Promise<TaskPage> {
    const page = await this.store.list(query);
    return { tasks: page.tasks.map((task) => ({ ...task })), nextCursor: page.nextCursor };
  }

  /** Resolves with the task once it has ended. Rejects with `TaskNotFoundError` for an unknown id. */
  async wait(id: string, options: WaitOptions = {}): Promise<Task> {
    if (!this.#live.has(id)) {
      const stored = await this.store.get(id);
      if (stored === undefined) throw new TaskNotFoundError(id);
      if (isTerminal(stored.status)) return { ...stored };
      if (this.#shared === null && !this.#live.has(id)) return { ...stored };
    }
    return await this.#waiters.add(id, options.signal);
  }

  /**
   * Cancels a task. A scheduled or queued task is removed at once; a running
   * one is marked cancelled and its handler's signal aborted (its worker is
   * replaced if it has not stopped within `cancelGraceMs`). Rejects with
   * `TaskConflictError` when the task has already ended.
   */
  async cancel(id: string): Promise<Task> {
    if (this.#shared !== null && !this.#held.has(id)) return await this.#cancelShared(id);
    const task = this.#live.get(id) ?? await this.store.get(id);
    if (task === undefined) throw new TaskNotFoundError(id);
    if (isTerminal(task.status)) {
      throw new TaskConflictError(
        `Task ${id} has already ${task.status}; only scheduled, queued or running tasks can be cancelled.`,
      );
    }
    const now = Date.now();
    const cancelled: TaskError = { name: "CancelledError", message: "The task was cancelled." };
    if (task.status === "scheduled") this.#delayed.delete(id);
    if (task.status === "queued") this.#queue.remove(id);
    const wasRunning = task.status === "running";
    this.#lifecycle.move(task, "cancelled", { finishedAt: now, error: cancelled });
    if (wasRunning) this.#pool.cancel(id);
    return { ...task };
  }

  async #cancelShared(id: string): Promise<Task> {
    const before = await this.store.get(id);
    const cancelled = await this.#shared!.cancel(id);
    if (cancelled === undefined) {
      if (before === undefined) throw new TaskNotFoundError(id);
      const now = await this.store.get(id) ?? before;
      throw new TaskConflictError(
        `Task ${id} has already ${now.status}; only scheduled, queued or running tasks can be cancelled.`,
      );
    }
    if (before?.status === "running" && before.nodeId !== null && before.nodeId !== this.nodeId) {
      this.#cluster!.requestCancel(id, before.nodeId);
    }
    this.#lifecycle.announce(cancelled, "task.cancelled", before?.status);
    return { ...cancelled };
  }

  /**
   * Runs a failed or cancelled task again, with the same id and priority and a
   * fresh set of attempts. Rejects with `TaskConflictError` for other statuses.
   */
  async retry(id: string): Promise<Task> {
    this.#assertAccepting();
    const task = this.#live.get(id) ?? await this.store.get(id);
    if (task === undefined) throw new TaskNotFoundError(id);
    if (task.status !== "failed" && task.status !== "cancelled") {
      throw new TaskConflictError(
        `Task ${id} is ${task.status}; only failed or cancelled tasks can be retried.`,
      );
    }
    this.#assertRoom(1);
    const now = Date.now();
    this.#live.set(id, task);
    this.#lifecycle.move(task, "queued", {
      attempts: 0,
      error: null,
      result: null,
      progress: null,
      startedAt: null,
      finishedAt: null,
      runAt: now,
    });
    const snapshot = { ...task };
    this.#enqueue(task, now);
    return snapshot;
  }

  /** Counts, queue depth, latencies, throughput and worker totals. */
  async stats(): Promise<EngineStats> {
    const now = Date.now();
    const oldest = this.#queue.oldestByPriority();
    const oldestQueuedAgeMs: Record<string, number | null> = {};
    for (const [level, at] of Object.entries(oldest)) {
      oldestQueuedAgeMs[level] = at === null ? null : now - at;
    }
    return {
      nodeId: this.nodeId,
      store: this.store.name,
      state: this.#state,
      uptimeMs: now - this.#startedAt,
      counts: this.#shared === null ? { ...this.#lifecycle.counts } : await this.store.counts(),
      queuedByPriority: this.#queue.sizeByPriority(),
      oldestQueuedAgeMs,
      throughput: this.#stats.throughput(now),
      waitMs: this.#stats.wait.summary(),
      runMs: this.#stats.run.summary(),
      waitMsByPriority: this.#stats.waitSummaries(),
      histograms: { waitMs: this.#stats.wait.snapshot(), runMs: this.#stats.run.snapshot() },
      workers: workerTotals(this.#pool.info()),
    };
  }

  /** Every node and its workers: this one alone, or all live nodes sharing the store. */
  async nodes(): Promise<NodeWorkers[]> {
    if (this.#shared === null) return [{ nodeId: this.nodeId, workers: this.workers() }];
    const nodes = await this.#shared.nodes();
    const others = nodes.filter((node) => node.nodeId !== this.nodeId);
    return [
      { nodeId: this.nodeId, workers: this.workers() },
      ...others.map((node) => ({ nodeId: node.nodeId, workers: node.workers })),
    ];
  }

  /** State of every worker slot. */
  workers(): WorkerInfo[] {
    return this.#pool.info();
  }

  /** Every task type this engine runs. */
  taskTypes(): TaskTypeInfo[] {
    return [...this.#types.values()].map((info) => ({ ...info }));
  }

  hasTaskType(name: string): boolean {
    return this.#types.has(name);
  }

  /** The seq of the last event emitted. */
  get seq(): number {
    return this.#lifecycle.seq;
  }

  /**
   * Listens to every event. Listeners run synchronously inside the engine:
   * keep them quick. Returns the function that stops listening.
   */
  on(listener: EventListener): () => void {
    return this.#lifecycle.listen(listener);
  }

  /**
   * Stops: accepts no new tasks, lets running tasks finish for up to
   * `drainMs`, then interrupts the rest (they return to `queued` for the next
   * start), terminates the workers, clears every timer and closes the store.
   * Queued and scheduled tasks stay in the store.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#state !== "running") return;
    this.#state = "draining";
    const drainMs = options.drainMs ?? 10_000;
    await this.#retention.stop();
    this.#delayed.close();
    if (this.#held.size > 0 && drainMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, drainMs);
      });
      clearTimeout(timer);
      this.#drained = undefined;
    }
    for (const task of this.#claimed) {
      this.#lifecycle.move(task, "queued", { attempts: task.attempts - 1 });
    }
    this.#claimed = [];
    await this.#pool.close();
    await this.#writer.settled();
    await this.#cluster?.close();
    await this.store.close();
    this.#state = "closed";
    this.#waiters.resolveAll((id) => this.#live.get(id));
  }

  async #submit(inputs: SubmitInput[], batch: boolean): Promise<SubmitResult[]> {
    this.#assertAccepting();
    if (!Array.isArray(inputs)) {
      throw new ValidationError("Field tasks must be an array of tasks.", "tasks");
    }
    if (inputs.length === 0 && batch) {
      throw new ValidationError("Field tasks must hold at least one task.", "tasks");
    }
    const now = Date.now();
    const context = { options: this.options, hasTaskType: (t: string) => this.hasTaskType(t) };
    const tasks = inputs.map((input, i) =>
      buildTask(input, context, now, batch ? `tasks[${i}].` : "")
    );
    refuseSharedBytes(tasks, batch);
    this.#assertRoom(tasks.length);
    this.#reserved += tasks.length;
    let outcomes;
    try {
      outcomes = await this.store.insert(tasks);
    } finally {
      this.#reserved -= tasks.length;
    }
    const results: SubmitResult[] = [];
    for (const outcome of outcomes) {
      const task = outcome.task;
      if (outcome.created) {
        if (this.#shared === null) {
          this.#live.set(task.id, task);
          if (task.status === "queued") this.#queue.push(task.id, task, task.priority, now);
          else this.#delayed.set(task.id, task.runAt, task);
        }
        this.#lifecycle.create(task);
      }
      results.push({ task: { ...task }, created: outcome.created });
    }
    this.#pool.fill();
    this.#cluster?.claim();
    return results;
  }

  #assertAccepting(): void {
    if (this.#state !== "running") throw new ClosedError();
  }

  #assertRoom(count: number): void {
    const waiting = this.#queue.size + this.#delayed.size + this.#reserved;
    if (waiting + count > this.options.maxQueued) {
      throw new QueueFullError(this.options.maxQueued);
    }
  }

  #recover(unfinished: Task[]): void {
    const now = Date.now();
    for (const task of unfinished) {
      this.#live.set(task.id, task);
      if (task.status === "running") {
        // The process stopped while the task ran: at-least-once, so run it again if attempts remain.
        this.#fail(task, new WorkerExitedError("the process stopped while the task ran"), now);
        continue;
      }
      if (task.status === "queued") this.#queue.push(task.id, task, task.priority, task.runAt);
      else if (task.status === "scheduled") this.#delayed.set(task.id, task.runAt, task);
    }
  }

  #peekType(): string | undefined {
    if (this.#state !== "running") return undefined;
    if (this.#shared !== null) return this.#claimed[0]?.type;
    return this.#queue.peek(Date.now())?.type;
  }

  #take(
    slot: number,
    limit: number,
    accept: (type: string, taken: number) => boolean,
  ): PoolJob[] {
    if (this.#state !== "running") return [];
    if (this.#shared !== null) return this.#takeClaimed(slot, limit, accept);
    const jobs: PoolJob[] = [];
    const now = Date.now();
    while (jobs.length < limit) {
      const next = this.#queue.peek(now);
      if (next === undefined || !accept(next.type, jobs.length)) break;
      const task = this.#queue.pop(now, idOf)!;
      this.#stats.recordWait(task.priority, now - task.runAt);
      this.#lifecycle.move(task, "running", {
        attempts: task.attempts + 1,
        startedAt: now,
        workerId: slot,
        nodeId: this.nodeId,
        progress: null,
      });
      // A listener of task.started may have cancelled it already: then it never goes out.
      if (task.status !== "running") continue;
      this.#held.set(task.id, task);
      jobs.push({
        id: task.id,
        type: task.type,
        payload: task.payload,
        attempt: task.attempts,
        timeoutMs: task.timeoutMs,
      });
    }
    return jobs;
  }

  #takeClaimed(
    slot: number,
    limit: number,
    accept: (type: string, taken: number) => boolean,
  ): PoolJob[] {
    let count = 0;
    while (count < limit && count < this.#claimed.length) {
      if (!accept(this.#claimed[count].type, count)) break;
      count++;
    }
    const tasks = this.#claimed.splice(0, count);
    const now = Date.now();
    const jobs: PoolJob[] = [];
    for (const task of tasks) {
      task.workerId = slot;
      this.#stats.recordWait(task.priority, Math.max(0, (task.startedAt ?? now) - task.runAt));
      this.#held.set(task.id, task);
      this.#lifecycle.announce(task, "task.started");
      // A listener of task.started may have cancelled it already: then it never goes out.
      if (task.status !== "running") {
        this.#held.delete(task.id);
        continue;
      }
      jobs.push({
        id: task.id,
        type: task.type,
        payload: task.payload,
        attempt: task.attempts,
        timeoutMs: task.timeoutMs,
      });
    }
    return jobs;
  }

  #onClaimed(claimed: ClaimedTask[]): void {
    for (const { task } of claimed) {
      this.#live.set(task.id, task);
      this.#claimed.push(task);
    }
    this.#pool.fill();
  }

  #onLeasesLost(ids: string[]): void {
    for (const id of ids) {
      this.#cluster!.leases.delete(id);
      // Another node owns the task now: stop our run quietly and write nothing; its
      // outcome, if any, is ignored because the task is no longer held.
      this.#claimed = this.#claimed.filter((t) => t.id !== id);
      this.#live.delete(id);
      if (this.#held.delete(id)) this.#pool.cancel(id);
    }
  }

  #onRemoteCancel(id: string): void {
    // The store holds the cancellation already and its node announced it.
    this.#cluster!.leases.delete(id);
    this.#live.delete(id);
    if (this.#held.delete(id)) this.#pool.cancel(id);
  }

  #onRemoteEvent(event: ThreadFlowEvent): void {
    this.#relaying = true;
    try {
      this.#lifecycle.emit(event);
    } finally {
      this.#relaying = false;
    }
    if ("task" in event && TERMINAL_EVENT_TYPES.has(event.type as never)) {
      this.#waiters.resolve(event.task);
    }
  }

  #onSwept(reclaimed: Task[], promoted: Task[]): void {
    // The store changed these tasks itself; this node announces it, once, for every node.
    for (const task of reclaimed) {
      this.#lifecycle.announce(task, task.status === "failed" ? "task.failed" : "task.retrying");
      if (isTerminal(task.status)) this.#waiters.resolve(task);
    }
    for (const task of promoted) this.#lifecycle.announce(task, "task.queued");
    this.#pollWaiters();
  }

  /**
   * Events can be missed while a node's listening connection reconnects:
   * look up, a few at a time, the tasks someone waits for.
   */
  async #pollWaiters(): Promise<void> {
    const ids = this.#waiters.ids(WAITER_POLL_BATCH);
    if (ids.length === 0) return;
    try {
      const tasks = await Promise.all(ids.map((id) => this.store.get(id)));
      for (const task of tasks) {
        if (task !== undefined && isTerminal(task.status)) this.#waiters.resolve(task);
      }
    } catch {
      // The store is unreachable; the next sweep looks again.
    }
  }

  #settled(_slot: number, outcomes: JobOutcome[]): void {
    const now = Date.now();
    for (const [id, ok, value, runMs, payload] of outcomes) {
      const task = this.#held.get(id);
      if (task === undefined) continue;
      this.#held.delete(id);
      if (payload !== undefined) task.payload = payload;
      this.#stats.run.record(runMs);
      if (task.status !== "running") continue; // cancelled while it ran
      if (ok) {
        this.#lifecycle.move(task, "succeeded", {
          result: value,
          error: null,
          finishedAt: now,
          progress: 1,
        });
      } else {
        this.#fail(task, value as TaskError, now);
      }
    }
    this.#checkDrained();
    this.#cluster?.claim();
  }

  #interrupted(ids: string[], cause: InterruptCause): void {
    const now = Date.now();
    for (const id of ids) {
      const task = this.#held.get(id);
      if (task === undefined) continue;
      this.#held.delete(id);
      if (task.status !== "running") continue;
      if (payloadLost(task)) {
        this.#lifecycle.move(task, "failed", {
          finishedAt: now,
          error: {
            name: "WorkerExitedError",
            message: "The worker holding the task's bytes exited; the bytes went with it.",
          },
        });
        continue;
      }
      if (cause.kind === "timeout" && cause.taskId === id) {
        this.#fail(task, new TimeoutError(cause.timeoutMs), now);
      } else if (cause.kind === "crashed" && !cause.unstarted?.has(id)) {
        this.#fail(task, new WorkerExitedError(cause.reason), now);
      } else {
        // Not this task's fault (a neighbour timed out or was cancelled, or we are
        // shutting down): give the attempt back and queue it again.
        this.#lifecycle.move(task, "queued", { attempts: task.attempts - 1, runAt: now });
        if (this.#state === "running") this.#enqueue(task, now);
      }
    }
    this.#checkDrained();
    this.#cluster?.claim();
  }

  /** Makes a task that just became `queued` available to workers. */
  #enqueue(task: Task, now: number): void {
    if (this.#shared !== null) {
      this.#live.delete(task.id);
      this.#shared.notifyWork().catch(() => {});
      return;
    }
    this.#queue.push(task.id, task, task.priority, now);
    this.#pool.fill();
  }

  /** Retries `task` with backoff when attempts remain; fails it otherwise. */
  #fail(task: Task, error: Error | TaskError, now: number): void {
    const recorded: TaskError = { name: error.name, message: error.message, stack: error.stack };
    if (task.attempts < task.maxAttempts) {
      const delay = backoff(task.attempts, this.options.backoffMs, this.options.maxBackoffMs);
      if (delay > 0) {
        this.#lifecycle.move(task, "scheduled", { error: recorded, runAt: now + delay });
        // A shared store promotes due tasks itself.
        if (this.#shared === null) this.#delayed.set(task.id, task.runAt, task);
        else this.#live.delete(task.id);
      } else {
        this.#lifecycle.move(task, "queued", { error: recorded, runAt: now });
        this.#enqueue(task, now);
      }
      return;
    }
    this.#lifecycle.move(task, "failed", { error: recorded, finishedAt: now });
  }

  #promote(due: Task[]): void {
    const now = Date.now();
    for (const task of due) {
      if (task.status !== "scheduled") continue;
      this.#lifecycle.move(task, "queued");
      this.#queue.push(task.id, task, task.priority, now);
    }
    this.#pool.fill();
  }

  #progress(id: string, value: ProgressValue): void {
    const task = this.#held.get(id);
    if (task === undefined || task.status !== "running") return;
    task.progress = toFraction(value);
    const now = Date.now();
    const last = this.#lastProgressEmit.get(id) ?? 0;
    if (now - last < this.options.progressIntervalMs) return;
    this.#lastProgressEmit.set(id, now);
    this.#writer.mark(task);
    this.#lifecycle.progress(task);
  }

  #workerEvent(type: WorkerEventType, worker: WorkerInfo, reason?: string): void {
    const event = { type, at: Date.now(), worker, ...(reason === undefined ? {} : { reason }) };
    this.#lifecycle.emit(event);
  }

  #onEnded(task: Task): void {
    this.#live.delete(task.id);
    this.#lastProgressEmit.delete(task.id);
    this.#stats.recordFinished(task.finishedAt ?? Date.now());
    this.#waiters.resolve(task);
  }

  #checkDrained(): void {
    if (this.#drained !== undefined && this.#held.size === 0) this.#drained();
  }
}

/**
 * Byte payloads move to their worker without copying, so two tasks of one
 * submit cannot share a buffer: the second would find it gone.
 */
function refuseSharedBytes(tasks: Task[], batch: boolean): void {
  const buffers = new Set<ArrayBufferLike>();
  tasks.forEach((task, i) => {
    if (!(task.payload instanceof Uint8Array)) return;
    const buffer = task.payload.buffer;
    if (buffers.has(buffer)) {
      throw new ValidationError(
        "Field payload shares its bytes with an earlier task of this batch: byte payloads move to their worker, so give each task its own Uint8Array (copy with slice()).",
        batch ? `tasks[${i}].payload` : "payload",
      );
    }
    buffers.add(buffer);
  });
}

/** Task types grouped by their permissions; the first group is the built-ins'. */
function permissionGroups(types: Map<string, TaskTypeInfo>): WorkerGroup[] {
  const groups = new Map<string, WorkerGroup>();
  groups.set(permissionsKey(NO_PERMISSIONS), { permissions: NO_PERMISSIONS, types: {} });
  for (const info of types.values()) {
    const key = permissionsKey(info.permissions);
    let group = groups.get(key);
    if (group === undefined) {
      group = { permissions: info.permissions, types: {} };
      groups.set(key, group);
    }
    group.types[info.name] = info.source;
  }
  return [...groups.values()];
}

/** Exponential backoff with ±50% jitter, capped. */
function backoff(attempt: number, baseMs: number, maxMs: number): number {
  if (baseMs === 0) return 0;
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.min(maxMs, Math.round(exponential * (0.5 + Math.random())));
}

function payloadLost(task: Task): boolean {
  const payload = task.payload;
  return payload instanceof Uint8Array && payload.buffer instanceof ArrayBuffer &&
    payload.buffer.detached;
}
