/**
 * The facade: `ThreadFlow`, the engine as a library. It keeps the public API
 * and the engine's state (running, draining, closed); the parts behind it
 * (the task source, the engine loop, the worker pool, the state machine, the
 * store writer, admission) are built, started and stopped by
 * `engine_parts.ts`.
 *
 * @module
 */

import { ClosedError, InvalidOptionError, TaskNotFoundError } from "../model/errors.ts";
import type { EventListener, PrunedListener, WorkerInfo } from "../model/events.ts";
import type { TaskPage, TaskQuery } from "../model/query.ts";
import {
  emptyCounts,
  isTerminal,
  type SubmitInput,
  type SubmitResult,
  type Task,
} from "../model/task.ts";
import { normalizeLimits, type TypeControl, type TypeLimits } from "../model/type_controls.ts";
import { loadTaskTypes, type TaskTypeInfo } from "../pool/task_types.ts";
import type { StuckThread } from "../pool/stuck_threads.ts";
import { WORKER_OPTIONS_FLAG, workerOptionsEnabled } from "../pool/worker_options.ts";
import { storeOf } from "../store/mod.ts";
import { isSharedStore } from "../store/shared_store.ts";
import type { TaskStore } from "../store/store.ts";
import {
  abandonParts,
  assembleParts,
  type EngineParts,
  type EngineState,
  runParts,
  startParts,
  stopParts,
} from "./engine_parts.ts";
import { type ResolvedOptions, resolveOptions, type ThreadFlowOptions } from "./options.ts";
import type { Schedules } from "./schedules.ts";
import { engineStats, listTasks } from "./reads.ts";
import type { EngineStats } from "./stats.ts";
import type {
  CloseOptions,
  NodeWorkers,
  SubmitBatchOptions,
  TaskTypeStats,
  WaitOptions,
} from "./api_types.ts";

export type {
  CloseOptions,
  NodeWorkers,
  SubmitBatchOptions,
  TaskTypeStats,
  WaitOptions,
} from "./api_types.ts";

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
  /** The schedules: tasks submitted on a cron pattern or an interval (see {@linkcode Schedules}). */
  readonly schedules: Schedules;
  #state: EngineState = "running";
  #types: Map<string, TaskTypeInfo>;
  #parts: EngineParts;
  #startedAt = Date.now();
  #controlsTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    options: ResolvedOptions,
    store: TaskStore,
    types: Map<string, TaskTypeInfo>,
  ) {
    this.options = Object.freeze(options);
    this.store = store;
    this.nodeId = options.nodeId;
    this.#types = types;
    this.#parts = assembleParts(this.options, store, types, {
      state: () => this.#state,
      assertAccepting: () => this.#assertAccepting(),
      get: (id) => this.get(id),
    });
    this.schedules = this.#parts.schedules;
  }

  /**
   * Starts an engine: opens the store, recovers unfinished tasks, starts the
   * workers. Rejects with an error naming the option or task module at fault.
   *
   * `store` takes a {@linkcode TaskStore} or a spec: `"memory"` (the
   * default), `"sqlite"`, `"sqlite:PATH"` or a `postgres://` URL.
   */
  static async start(options: ThreadFlowOptions = {}): Promise<ThreadFlow> {
    const resolved = resolveOptions(options);
    if (resolved.sandbox && workerOptionsEnabled() === false) {
      throw new InvalidOptionError(
        `ThreadFlow runs task workers with only their own permissions (option sandbox), which ` +
          `needs Deno's ${WORKER_OPTIONS_FLAG} flag: run with ${WORKER_OPTIONS_FLAG}, add ` +
          `"unstable": ["worker-options"] to deno.json, or start ThreadFlow with sandbox: false.`,
        "sandbox",
      );
    }
    const store = storeOf(options.store);
    const types = await loadTaskTypes(resolved.tasksDir, {
      sandbox: resolved.sandbox,
      isolation: resolved.isolation,
      memoryLimitMb: resolved.taskMemoryMb,
    });
    const unfinished = await store.open();
    const engine = new ThreadFlow(resolved, store, types);
    try {
      await startParts(engine.#parts, store, unfinished);
    } catch (error) {
      engine.#state = "closed";
      await abandonParts(engine.#parts, store);
      throw error;
    }
    engine.#controlsTimer = runParts(engine.#parts);
    return engine;
  }

  /** `running`; `draining` once `close()` was called; then `closed`. */
  get state(): EngineState {
    return this.#state;
  }

  /** `false` while a shared store is unreachable (the engine keeps trying). */
  get healthy(): boolean {
    return this.#parts.source.healthy;
  }

  /**
   * Read inside an {@linkcode on} listener: `true` while the event being
   * delivered happened on another node sharing the store (every node hears
   * every event), so per-node figures can count only their own.
   */
  get relaying(): boolean {
    return this.#parts.runner.relaying;
  }

  /** Submits one task. Resolves with it once it is recorded in the store. */
  async submit(input: SubmitInput): Promise<Task> {
    const [outcome] = await this.#parts.admission.submit([input], false);
    return outcome.task;
  }

  /**
   * Submits several tasks, validated as a whole: one bad input rejects them
   * all with an error whose `field` names it (`tasks[3].priority`). Resolves
   * with the tasks, in input order; with `{ outcomes: true }`, with
   * `{ task, created }` each (`created` is `false` for an idempotency key
   * seen before).
   */
  submitBatch(inputs: SubmitInput[]): Promise<Task[]>;
  submitBatch(inputs: SubmitInput[], options: { outcomes: true }): Promise<SubmitResult[]>;
  submitBatch(
    inputs: SubmitInput[],
    options?: SubmitBatchOptions,
  ): Promise<Task[] | SubmitResult[]>;
  async submitBatch(
    inputs: SubmitInput[],
    options: SubmitBatchOptions = {},
  ): Promise<Task[] | SubmitResult[]> {
    const results = await this.#parts.admission.submit(inputs, true);
    return options.outcomes === true ? results : results.map((result) => result.task);
  }

  /** The task with this id (a snapshot), or `undefined`. */
  async get(id: string): Promise<Task | undefined> {
    const live = this.#parts.runner.live.get(id);
    if (live !== undefined) return { ...live };
    const stored = await this.store.get(id);
    return stored === undefined ? undefined : { ...stored };
  }

  /**
   * The tasks that depend on the task `id` (its children), newest first, at
   * most `limit` (default 100, at most 1,000).
   */
  async dependents(id: string, options: { limit?: number } = {}): Promise<Task[]> {
    const limit = Math.min(1_000, Math.max(1, Math.trunc(options.limit ?? 100)));
    const found = await this.store.dependents(id, limit);
    return found.map((task) => ({ ...(this.#parts.runner.live.get(task.id) ?? task) }));
  }

  /**
   * A page of tasks, newest first (or by priority or run time), with the
   * total matching when asked (`withTotal`). Each filter takes one value or a
   * list; an unknown status or sort, a bad id prefix or cursor is a
   * `ValidationError` naming it.
   */
  list(query: TaskQuery = {}): Promise<TaskPage> {
    return listTasks(this.#parts, this.store, query);
  }

  /** Resolves with the task once it has ended. Rejects with `TaskNotFoundError` for an unknown id. */
  async wait(id: string, options: WaitOptions = {}): Promise<Task> {
    if (!this.#parts.runner.live.has(id)) {
      const stored = await this.store.get(id);
      if (stored === undefined) throw new TaskNotFoundError(id);
      if (isTerminal(stored.status)) return { ...stored };
      if (!this.#parts.source.shared && !this.#parts.runner.live.has(id)) {
        // A local store's unfinished tasks are all held here: it ended, and its last write
        // was still on its way.
        await this.#parts.writer.settled();
        return { ...(await this.store.get(id) ?? stored) };
      }
    }
    return await this.#parts.waiters.add(id, options.signal);
  }

  /**
   * Cancels a task. A scheduled or queued task is removed at once (also one
   * handed to a worker that has not started it); a running one is marked
   * cancelled and its handler's signal aborted (its worker is replaced if it
   * has not stopped within `cancelGraceMs`). Rejects with `TaskConflictError`
   * when the task has already ended.
   */
  cancel(id: string): Promise<Task> {
    return this.#parts.runner.cancel(id);
  }

  /**
   * Runs a failed or cancelled task again, with the same id and priority and a
   * fresh set of attempts. Rejects with `TaskConflictError` for other statuses.
   */
  retry(id: string): Promise<Task> {
    this.#assertAccepting();
    return this.#parts.runner.retry(id, (count) => this.#parts.admission.assertRoom(count));
  }

  /** Counts, queue depth, latencies, throughput and worker totals. */
  stats(): Promise<EngineStats> {
    return engineStats(this.#parts, {
      nodeId: this.nodeId,
      store: this.store,
      state: () => this.#state,
      startedAt: this.#startedAt,
    });
  }

  /** Every node and its workers: this one alone, or all live nodes sharing the store. */
  async nodes(): Promise<NodeWorkers[]> {
    const self = { nodeId: this.nodeId, workers: this.workers() };
    if (!isSharedStore(this.store)) return [self];
    const nodes = await this.store.nodes();
    const others = nodes.filter((node) => node.nodeId !== this.nodeId);
    return [self, ...others.map((node) => ({ nodeId: node.nodeId, workers: node.workers }))];
  }

  /** State of every worker slot, with its CPU and memory use. */
  workers(): WorkerInfo[] {
    return this.#parts.pool.measure();
  }

  /**
   * Terminated worker threads that keep running (Deno cannot stop a thread
   * busy in a loop): each holds a core until the process exits. The types
   * they ran have moved to worker processes (see option `isolation`).
   */
  stuckThreads(): StuckThread[] {
    return this.#parts.pool.stuckThreads;
  }

  /** Every task type this engine runs. */
  taskTypes(): TaskTypeInfo[] {
    return [...this.#types.values()].map((info) => ({ ...info }));
  }

  /** Whether this engine runs tasks of type `name`. */
  hasTaskType(name: string): boolean {
    return this.#types.has(name);
  }

  /**
   * Each task type's figures: tasks per status in the store, and on this node
   * over the last hour run time p50/p95, attempts succeeded and failed (the
   * failure rate), and the last error. Counting by type reads every task's
   * type and status: for pages, not for hot paths.
   *
   * @example
   * ```ts ignore
   * for (const t of await tf.typeStats()) console.log(t.type, t.counts.failed, t.runMs.p95);
   * ```
   */
  async typeStats(): Promise<TaskTypeStats[]> {
    const counts = await this.store.countsByType();
    const now = Date.now();
    return [...this.#types.keys()].sort().map((type) => ({
      type,
      counts: counts[type] ?? emptyCounts(),
      ...this.#parts.stats.byType.read(type, now),
    }));
  }

  /** Every task type's control: paused or not, its limits in force and its module's. */
  typeControls(): TypeControl[] {
    return this.#parts.controls.list();
  }

  /** The control of one task type; throws `UnknownTaskTypeError` for a type it lacks. */
  typeControl(type: string): TypeControl {
    return this.#parts.controls.get(type);
  }

  /**
   * Sets the limits of a task type (`concurrency`, `ratePerSecond`,
   * `burst`), replacing its module's; `null` goes back to the module's.
   * Saved in the store; on a shared store they hold across the cluster.
   * Rejects with `ValidationError` naming the field, or
   * `UnknownTaskTypeError`.
   */
  async setTypeLimits(type: string, limits: TypeLimits | null): Promise<TypeControl> {
    this.#parts.controls.get(type); // an unknown type before bad limits
    return await this.#parts.controls.change(type, {
      limits: limits === null ? null : normalizeLimits(limits),
    });
  }

  /**
   * Pauses a task type: none of its tasks starts until it is resumed (new
   * ones are still accepted; other types run). Tasks a worker holds but has
   * not started go back to the queue; running ones finish.
   */
  pauseType(type: string): Promise<TypeControl> {
    return this.#parts.controls.change(type, { paused: true });
  }

  /** Resumes a paused task type. */
  resumeType(type: string): Promise<TypeControl> {
    return this.#parts.controls.change(type, { paused: false });
  }

  /** The seq of the last event emitted. */
  get seq(): number {
    return this.#parts.lifecycle.seq;
  }

  /**
   * Listens to every event. Listeners run synchronously inside the engine:
   * keep them quick. Returns the function that stops listening.
   */
  on(listener: EventListener): () => void {
    return this.#parts.lifecycle.listen(listener);
  }

  /**
   * Calls `listener` each time this engine's retention has deleted finished
   * tasks (after each batch of up to 1,000, with how many, before the status
   * counts are updated), so a cache of ended tasks can drop what the store no
   * longer has: deletions emit no task event. On a shared store, other nodes'
   * retention is not heard. A listener that throws is logged. Returns a
   * function that stops the calls.
   */
  onPruned(listener: PrunedListener): () => void {
    return this.#parts.retention.listen(listener);
  }

  /**
   * Deletes the finished tasks past retention (`retentionMs`,
   * `retentionMaxFinished`) now, as the background prune does once a
   * minute; joins a prune under way. Resolves with how many were deleted;
   * rejects with the store's error, or with `ClosedError` once `close()`
   * has begun.
   */
  prune(): Promise<number> {
    if (this.#state !== "running") return Promise.reject(new ClosedError());
    return this.#parts.retention.prune();
  }

  /**
   * Stops: accepts no new tasks, takes back every task a worker has not
   * started, lets running tasks finish for up to `drainMs`, then interrupts
   * the rest (they return to `queued` for the next start), terminates the
   * workers, clears every timer and closes the store. Queued and scheduled
   * tasks stay in the store (a shared store's claims are given back).
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#state !== "running") return;
    this.#state = "draining";
    clearInterval(this.#controlsTimer);
    await stopParts(this.#parts, this.store, options.drainMs ?? 10_000);
    this.#state = "closed";
    this.#parts.waiters.resolveAll((id) => this.#parts.runner.live.get(id));
  }

  #assertAccepting(): void {
    if (this.#state !== "running") throw new ClosedError();
  }
}
