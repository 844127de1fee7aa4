/**
 * The facade: `ThreadFlow`, the engine as a library. It validates what
 * callers give it, admits tasks into the store, and hands everything else to
 * the parts below: the task source (local queue, or claims from a shared
 * store), the engine loop ({@linkcode Runner}), the worker pool, the state
 * machine and the store writer.
 *
 * @module
 */

import {
  ClosedError,
  InvalidOptionError,
  QueueFullError,
  TaskNotFoundError,
  WorkerExitedError,
} from "../model/errors.ts";
import type { EventListener, WorkerInfo } from "../model/events.ts";
import { Lifecycle } from "../model/lifecycle.ts";
import { normalizeQuery, type TaskPage, type TaskQuery } from "../model/query.ts";
import {
  emptyCounts,
  isTerminal,
  type SubmitInput,
  type SubmitResult,
  type Task,
  TASK_STATUSES,
  type TaskScheduleRef,
} from "../model/task.ts";
import { normalizeLimits, type TypeControl, type TypeLimits } from "../model/type_controls.ts";
import { WorkerPool } from "../pool/pool.ts";
import { loadTaskTypes, permissionGroups, type TaskTypeInfo } from "../pool/task_types.ts";
import type { StuckThread } from "../pool/stuck_threads.ts";
import { WORKER_OPTIONS_FLAG, workerOptionsEnabled } from "../pool/worker_options.ts";
import { ClaimedSource } from "../source/claimed_source.ts";
import { LocalSource } from "../source/local_source.ts";
import type { SourceHooks, TaskSource } from "../source/source.ts";
import { TypeGate } from "../source/type_gate.ts";
import { storeOf } from "../store/mod.ts";
import { isSharedStore, type SharedTaskStore } from "../store/shared_store.ts";
import type { TaskStore } from "../store/store.ts";
import { StoreWriter } from "../store/store_writer.ts";
import { buildTask, buildTasks } from "./submit.ts";
import { REAL_CLOCK } from "./schedule_firer.ts";
import { Schedules } from "./schedules.ts";
import { TypeControls } from "./controls.ts";
import { Dependencies } from "./dependencies.ts";
import { type ResolvedOptions, resolveOptions, type ThreadFlowOptions } from "./options.ts";
import { Retention } from "./retention.ts";
import { Runner } from "./runner.ts";
import { type EngineStats, StatsRecorder, workerTotals } from "./stats.ts";
import { Waiters } from "./waiters.ts";
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

/** Most tasks a node claims ahead of its workers when tasks are quick (shared stores). */
const CLAIM_AHEAD = 256;
/** A run time (p50, ms) under which claimed tasks count as quick. */
const QUICK_CLAIM_MS = 5;
/** Waited-for tasks looked up per sweep in shared mode. */
const WAITER_POLL_BATCH = 100;
/** How often a node on a shared store rereads the type controls (in case it missed an event). */
const CONTROLS_REFRESH_MS = 5_000;

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
  #state: "running" | "draining" | "closed" = "running";
  #types: Map<string, TaskTypeInfo>;
  #lifecycle: Lifecycle;
  #source: TaskSource;
  #pool: WorkerPool;
  #runner: Runner;
  #waiters = new Waiters();
  #writer: StoreWriter;
  #retention: Retention;
  #stats = new StatsRecorder();
  #reserved = 0;
  #startedAt = Date.now();
  #gate: TypeGate;
  #controls: TypeControls;
  #dependencies: Dependencies;
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
    this.#lifecycle = new Lifecycle({
      changed: (task) => this.#writer.mark(task),
      ended: (task) => this.#runner.ended(task),
    });
    const hooks = this.#sourceHooks();
    const claimed = isSharedStore(store)
      ? new ClaimedSource(store, {
        nodeId: options.nodeId,
        agingMs: options.agingMs,
        leaseMs: options.leaseMs,
        heartbeatMs: options.heartbeatMs,
      }, hooks)
      : null;
    this.#source = claimed ?? new LocalSource({ agingMs: options.agingMs }, hooks);
    this.#writer = new StoreWriter(store, claimed?.fencing ?? null);
    // On a shared store the rate is one budget for the cluster, spent by claims.
    this.#gate = new TypeGate({ enforceRate: claimed === null, wake: () => this.#pool.fill() });
    this.#runner = new Runner(options, {
      store,
      lifecycle: this.#lifecycle,
      writer: this.#writer,
      stats: this.#stats,
      waiters: this.#waiters,
      gate: this.#gate,
      ended: (task) => this.#dependencies.ended(task),
    });
    this.#controls = new TypeControls({
      store,
      types,
      gate: this.#gate,
      emit: (event) => this.#lifecycle.emit(event),
      changed: (type) => {
        if (this.#state === "closed") return;
        this.#pool.recall(type);
        this.#source.controlsChanged(type);
        this.#pool.fill();
      },
    });
    this.#dependencies = new Dependencies({
      store,
      shared: claimed === null ? null : store as SharedTaskStore,
      lifecycle: this.#lifecycle,
      writer: this.#writer,
      live: this.#runner.live,
      place: (task, now) => this.#runner.place(task, now),
      applied: (changes) => this.#runner.applied(changes),
      blockedInCluster: async () => (await this.#source.counts(this.#lifecycle.counts)).blocked,
    });
    this.#pool = new WorkerPool({
      size: options.workers,
      concurrency: options.concurrencyPerWorker,
      dispatchBatch: options.dispatchBatch,
      cancelGraceMs: options.cancelGraceMs,
      nodeId: options.nodeId,
      groups: permissionGroups(types),
      sandbox: options.sandbox,
      agingMs: options.agingMs,
      memoryLimitMb: options.taskMemoryMb,
      hooks: {
        ...this.#runner.poolHooks,
        threadStuck: (thread, switched) => {
          // taskTypes() tells where each type runs now.
          for (const type of switched) types.get(type)!.isolation = "process";
          warnStuck(thread, switched);
        },
      },
    });
    this.#runner.connect(this.#source, this.#pool);
    if (claimed !== null) {
      this.#lifecycle.listen((event) => {
        if (!this.#runner.relaying) claimed.publish(event);
      });
    }
    this.schedules = new Schedules({
      store,
      shared: claimed !== null,
      owner: options.nodeId,
      clock: REAL_CLOCK,
      checkTask: (task) => {
        const context = { options: this.options, hasTaskType: (t: string) => this.#types.has(t) };
        buildTask(task, context, Date.now(), "task.");
      },
      assertAccepting: () => this.#assertAccepting(),
      submit: async (input, schedule) => (await this.#submit([input], false, schedule))[0],
      task: (id) => this.get(id),
      emit: (event) => this.#lifecycle.emit(event),
    });
    this.#retention = new Retention(store, {
      retentionMs: options.retentionMs,
      retentionMaxFinished: options.retentionMaxFinished,
      onPruned: async () => {
        const { succeeded, failed, cancelled } = await store.counts();
        this.#lifecycle.recount({ succeeded, failed, cancelled });
      },
    });
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
      await engine.#controls.load();
      await engine.#recover(unfinished);
      await engine.#pool.start();
      await engine.#source.start();
    } catch (error) {
      engine.#state = "closed";
      engine.#gate.close();
      await engine.#pool.close();
      await engine.#source.close([]);
      await engine.#writer.settled();
      await store.close();
      throw error;
    }
    engine.#retention.start();
    engine.#dependencies.start();
    engine.schedules.start();
    if (engine.#source.shared) {
      engine.#controlsTimer = setInterval(() => {
        engine.#controls.refresh().catch(() => {});
      }, CONTROLS_REFRESH_MS);
    }
    engine.#pool.fill();
    return engine;
  }

  /** `running`; `draining` once `close()` was called; then `closed`. */
  get state(): "running" | "draining" | "closed" {
    return this.#state;
  }

  /** `false` while a shared store is unreachable (the engine keeps trying). */
  get healthy(): boolean {
    return this.#source.healthy;
  }

  /**
   * Read inside an {@linkcode on} listener: `true` while the event being
   * delivered happened on another node sharing the store (every node hears
   * every event), so per-node figures can count only their own.
   */
  get relaying(): boolean {
    return this.#runner.relaying;
  }

  /** Submits one task. Resolves with it once it is recorded in the store. */
  async submit(input: SubmitInput): Promise<Task> {
    const [outcome] = await this.#submit([input], false);
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
    const results = await this.#submit(inputs, true);
    return options.outcomes === true ? results : results.map((result) => result.task);
  }

  /** The task with this id (a snapshot), or `undefined`. */
  async get(id: string): Promise<Task | undefined> {
    const live = this.#runner.live.get(id);
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
    return found.map((task) => ({ ...(this.#runner.live.get(task.id) ?? task) }));
  }

  /**
   * A page of tasks, newest first (or by priority or run time), with the
   * total matching when asked (`withTotal`). Each filter takes one value or a
   * list; an unknown status or sort, a bad id prefix or cursor is a
   * `ValidationError` naming it.
   */
  async list(query: TaskQuery = {}): Promise<TaskPage> {
    const normalized = normalizeQuery(query);
    // Filtered by status alone (or not at all), the counts of stats() answer the total (this
    // node's on a local store, the counter tables on PostgreSQL): nothing counts the tasks.
    const byCounts = normalized.withTotal === true && normalized.type === undefined &&
      normalized.priority === undefined && normalized.idRange === undefined;
    const [page, counts] = await Promise.all([
      this.store.list(byCounts ? { ...normalized, withTotal: false } : normalized),
      byCounts ? this.#source.counts(this.#lifecycle.counts) : undefined,
    ]);
    const answer: TaskPage = {
      tasks: page.tasks.map((task) => ({ ...task })),
      nextCursor: page.nextCursor,
    };
    if (counts !== undefined) {
      const statuses = new Set(normalized.status ?? TASK_STATUSES);
      answer.total = [...statuses].reduce((sum, status) => sum + counts[status], 0);
    } else if (page.total !== undefined) {
      answer.total = page.total;
    }
    return answer;
  }

  /** Resolves with the task once it has ended. Rejects with `TaskNotFoundError` for an unknown id. */
  async wait(id: string, options: WaitOptions = {}): Promise<Task> {
    if (!this.#runner.live.has(id)) {
      const stored = await this.store.get(id);
      if (stored === undefined) throw new TaskNotFoundError(id);
      if (isTerminal(stored.status)) return { ...stored };
      if (!this.#source.shared && !this.#runner.live.has(id)) {
        // A local store's unfinished tasks are all held here: it ended, and its last write
        // was still on its way.
        await this.#writer.settled();
        return { ...(await this.store.get(id) ?? stored) };
      }
    }
    return await this.#waiters.add(id, options.signal);
  }

  /**
   * Cancels a task. A scheduled or queued task is removed at once (also one
   * handed to a worker that has not started it); a running one is marked
   * cancelled and its handler's signal aborted (its worker is replaced if it
   * has not stopped within `cancelGraceMs`). Rejects with `TaskConflictError`
   * when the task has already ended.
   */
  cancel(id: string): Promise<Task> {
    return this.#runner.cancel(id);
  }

  /**
   * Runs a failed or cancelled task again, with the same id and priority and a
   * fresh set of attempts. Rejects with `TaskConflictError` for other statuses.
   */
  retry(id: string): Promise<Task> {
    this.#assertAccepting();
    return this.#runner.retry(id, (count) => this.#assertRoom(count));
  }

  /** Counts, queue depth, latencies, throughput and worker totals. */
  async stats(): Promise<EngineStats> {
    const counts = await this.#source.counts(this.#lifecycle.counts);
    const depth = await this.#source.depth(this.#pool.pendingDepth());
    const now = Date.now();
    const oldestQueuedAgeMs: Record<string, number | null> = {};
    for (const [level, at] of Object.entries(depth.oldestQueuedAt)) {
      oldestQueuedAgeMs[level] = at === null ? null : Math.max(0, now - at);
    }
    return {
      nodeId: this.nodeId,
      store: this.store.name,
      state: this.#state,
      uptimeMs: now - this.#startedAt,
      counts,
      queuedByPriority: depth.queuedByPriority,
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
    const self = { nodeId: this.nodeId, workers: this.workers() };
    if (!isSharedStore(this.store)) return [self];
    const nodes = await this.store.nodes();
    const others = nodes.filter((node) => node.nodeId !== this.nodeId);
    return [self, ...others.map((node) => ({ nodeId: node.nodeId, workers: node.workers }))];
  }

  /** State of every worker slot, with its CPU and memory use. */
  workers(): WorkerInfo[] {
    return this.#pool.measure();
  }

  /**
   * Terminated worker threads that keep running (Deno cannot stop a thread
   * busy in a loop): each holds a core until the process exits. The types
   * they ran have moved to worker processes (see option `isolation`).
   */
  stuckThreads(): StuckThread[] {
    return this.#pool.stuckThreads;
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
      ...this.#stats.byType.read(type, now),
    }));
  }

  /** Every task type's control: paused or not, its limits in force and its module's. */
  typeControls(): TypeControl[] {
    return this.#controls.list();
  }

  /** The control of one task type; throws `UnknownTaskTypeError` for a type it lacks. */
  typeControl(type: string): TypeControl {
    return this.#controls.get(type);
  }

  /**
   * Sets the limits of a task type (`concurrency`, `ratePerSecond`,
   * `burst`), replacing its module's; `null` goes back to the module's.
   * Saved in the store; on a shared store they hold across the cluster.
   * Rejects with `ValidationError` naming the field, or
   * `UnknownTaskTypeError`.
   */
  async setTypeLimits(type: string, limits: TypeLimits | null): Promise<TypeControl> {
    this.#controls.get(type); // an unknown type before bad limits
    return await this.#controls.change(type, {
      limits: limits === null ? null : normalizeLimits(limits),
    });
  }

  /**
   * Pauses a task type: none of its tasks starts until it is resumed (new
   * ones are still accepted; other types run). Tasks a worker holds but has
   * not started go back to the queue; running ones finish.
   */
  pauseType(type: string): Promise<TypeControl> {
    return this.#controls.change(type, { paused: true });
  }

  /** Resumes a paused task type. */
  resumeType(type: string): Promise<TypeControl> {
    return this.#controls.change(type, { paused: false });
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
    await this.schedules.close();
    this.#dependencies.close();
    this.#gate.close();
    this.#runner.stopAccepting();
    this.#pool.recall();
    const drainMs = options.drainMs ?? 10_000;
    await this.#retention.stop();
    if (drainMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#runner.drained(),
        new Promise<void>((resolve) => timer = setTimeout(resolve, drainMs)),
      ]);
      clearTimeout(timer);
    }
    await this.#pool.close();
    const stuck = this.#pool.stuckThreads;
    if (stuck.length > 0) {
      console.warn(
        `ThreadFlow closed, but ${stuck.length} terminated worker thread(s) keep running ` +
          `tasks of type ${[...new Set(stuck.flatMap((thread) => thread.types))].join(", ")}` +
          `: this process will not exit by itself. Deno cannot stop a thread busy in a loop; ` +
          `run such types in worker processes (export const isolation = "process").`,
      );
    }
    await this.#writer.settled();
    await this.#source.close([...this.#runner.live.values()]);
    await this.#writer.settled();
    await this.store.close();
    this.#state = "closed";
    this.#waiters.resolveAll((id) => this.#runner.live.get(id));
  }

  async #submit(
    inputs: SubmitInput[],
    batch: boolean,
    schedule?: TaskScheduleRef,
  ): Promise<SubmitResult[]> {
    this.#assertAccepting();
    const tasks = buildTasks(inputs, batch, {
      options: this.options,
      hasTaskType: (type) => this.#types.has(type),
    });
    if (schedule !== undefined) tasks[0].schedule = { ...schedule };
    if (tasks.some((task) => task.dependsOn !== undefined)) {
      await this.#dependencies.check(tasks, tasks.map((_, i) => batch ? `tasks[${i}].` : ""));
    }
    const count = tasks.length;
    this.#reserved += count;
    let outcomes;
    try {
      await this.#assertRoom(count, this.#reserved - count);
      outcomes = await this.store.insert(tasks);
    } finally {
      this.#reserved -= count;
    }
    const created: Task[] = [];
    const results: SubmitResult[] = new Array(count);
    for (let i = 0; i < count; i++) {
      // The engine keeps its own task object; a store may answer with a copy.
      const task = outcomes[i].created ? tasks[i] : outcomes[i].task;
      if (outcomes[i].created) created.push(task);
      results[i] = { task: { ...task }, created: outcomes[i].created };
    }
    this.#runner.admit(created);
    this.#dependencies.admitted(created);
    return results;
  }

  #assertAccepting(): void {
    if (this.#state !== "running") throw new ClosedError();
  }

  async #assertRoom(count: number, reserved = this.#reserved): Promise<void> {
    const max = this.options.maxQueued;
    const waiting = await this.#source.waiting(this.#pool.pending, reserved) +
      this.#dependencies.blocked;
    if (waiting + count <= max) return;
    if (this.#source.shared) {
      // The cluster's figure may be a moment old: with this node's changes written, ask again.
      await this.#writer.settled();
      const now = await this.#source.waiting(this.#pool.pending, reserved, true);
      if (now + count <= max) return;
    }
    throw new QueueFullError(max);
  }

  /** A local store's unfinished tasks: waiting ones are queued again, running ones failed or retried. */
  async #recover(unfinished: Task[]): Promise<void> {
    if (this.#source.shared) return;
    this.#lifecycle.recount(await this.store.counts());
    // Released dependent tasks get their parents' outcomes again before they can run.
    await this.#dependencies.loadParents(unfinished.filter((task) => task.status !== "blocked"));
    const now = Date.now();
    for (const task of unfinished) this.#runner.live.set(task.id, task);
    for (const task of unfinished) {
      if (task.status === "blocked") continue;
      if (task.status === "running") {
        // The process stopped while the task ran: at-least-once, so run it again if attempts remain.
        this.#runner.fail(
          task,
          new WorkerExitedError("the process stopped while the task ran"),
          now,
        );
      } else this.#runner.place(task, now);
    }
    this.#dependencies.recover(unfinished);
  }

  #sourceHooks(): SourceHooks {
    return {
      ready: (held) => {
        for (const task of held) this.#runner.live.set(task.id, task);
        this.#pool.fill();
      },
      due: (tasks) => this.#runner.due(tasks),
      prepare: (tasks) => this.#dependencies.loadParents(tasks),
      released: (tasks) => {
        for (const task of tasks) this.#runner.live.delete(task.id);
      },
      controls: () => this.#controls.claimControls(),
      applied: (changes) => {
        this.#runner.applied(changes);
        this.#waiters.poll(WAITER_POLL_BATCH, (id) => this.store.get(id));
      },
      lost: (ids) => this.#runner.lost(ids),
      remoteEvent: (event) => {
        this.#runner.relay(event);
        this.#controls.relayed(event);
        this.schedules.relayed(event);
      },
      wanted: () => {
        if (this.#state !== "running") return 0;
        const quick = this.#stats.run.count > 0 &&
          this.#stats.run.percentile(0.5) < QUICK_CLAIM_MS;
        const target = this.#pool.capacity + (quick ? CLAIM_AHEAD : 0);
        return target - this.#pool.held - this.#source.size;
      },
      workers: () => this.#pool.info(),
    };
  }
}

/** Warns that a terminated worker thread keeps running, naming its types and the fix. */
function warnStuck(thread: StuckThread, switched: string[]): void {
  const types = thread.types.join(", ");
  const now = switched.length > 0
    ? `until restart, ${switched.join(", ")} now run(s) in worker processes`
    : `this process cannot start worker processes (no --allow-run), so they stay in threads`;
  console.warn(
    `ThreadFlow: worker thread ${thread.tid} (slot ${thread.slot}) keeps running after it was ` +
      `terminated (${thread.cpuPercent}% CPU) while running task type ${types}: Deno cannot ` +
      `stop a thread busy in a loop, so it holds a core until the process exits. Fix: ` +
      `export const isolation = "process" from the type's module; ${now}.`,
  );
}
