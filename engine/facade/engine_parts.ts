/**
 * The wiring of one engine: builds its parts from the resolved options (the
 * state machine, the task source, the store writer, the type gate, the engine
 * loop, the worker pool, the controls, dependencies, schedules, retention and
 * admission) and connects each to the others. `ThreadFlow` owns the parts
 * and keeps the public API; this module is where they meet.
 *
 * @module
 */

import { WorkerExitedError } from "../model/errors.ts";
import { Lifecycle } from "../model/lifecycle.ts";
import type { Task } from "../model/task.ts";
import { WorkerPool } from "../pool/pool.ts";
import type { StuckThread } from "../pool/stuck_threads.ts";
import { permissionGroups, type TaskTypeInfo } from "../pool/task_types.ts";
import { ClaimedSource } from "../source/claimed_source.ts";
import { LocalSource } from "../source/local_source.ts";
import type { SourceHooks, TaskSource } from "../source/source.ts";
import { TypeGate } from "../source/type_gate.ts";
import { isSharedStore, type SharedTaskStore } from "../store/shared_store.ts";
import type { TaskStore } from "../store/store.ts";
import { StoreWriter } from "../store/store_writer.ts";
import { Admission } from "./admission.ts";
import { TypeControls } from "./controls.ts";
import { Dependencies } from "./dependencies.ts";
import type { ResolvedOptions } from "./options.ts";
import { Retention } from "./retention.ts";
import { Runner } from "./runner.ts";
import { REAL_CLOCK } from "./schedule_firer.ts";
import { Schedules } from "./schedules.ts";
import { StatsRecorder } from "./stats.ts";
import { buildTask } from "./submit.ts";
import { Waiters } from "./waiters.ts";

/** Most tasks a node claims ahead of its workers when tasks are quick (shared stores). */
const CLAIM_AHEAD = 256;
/** A run time (p50, ms) under which claimed tasks count as quick. */
const QUICK_CLAIM_MS = 5;
/** Waited-for tasks looked up per sweep in shared mode. */
const WAITER_POLL_BATCH = 100;
/** How often a node on a shared store rereads the type controls (in case it missed an event). */
const CONTROLS_REFRESH_MS = 5_000;

/** Where an engine is in its life: `running`, `draining` once closing, then `closed`. */
export type EngineState = "running" | "draining" | "closed";

/** The parts of one engine, wired together by {@linkcode assembleParts}. */
export interface EngineParts {
  lifecycle: Lifecycle;
  source: TaskSource;
  writer: StoreWriter;
  gate: TypeGate;
  runner: Runner;
  controls: TypeControls;
  dependencies: Dependencies;
  pool: WorkerPool;
  schedules: Schedules;
  retention: Retention;
  admission: Admission;
  stats: StatsRecorder;
  waiters: Waiters;
}

/** What the parts ask of the facade that owns them. */
export interface FacadeLink {
  /** The engine's state now. */
  state(): EngineState;
  /** Throws `ClosedError` once the engine is closing. */
  assertAccepting(): void;
  /** The task with this id (a snapshot), or `undefined`. */
  get(id: string): Promise<Task | undefined>;
}

/**
 * Builds the parts of an engine on `store` and connects them. Nothing
 * starts until {@linkcode startParts} and {@linkcode runParts}.
 *
 * @example
 * ```ts ignore
 * const parts = assembleParts(options, store, types, {
 *   state: () => "running",
 *   assertAccepting: () => {},
 *   get: (id) => store.get(id),
 * });
 * ```
 */
export function assembleParts(
  options: Readonly<ResolvedOptions>,
  store: TaskStore,
  types: Map<string, TaskTypeInfo>,
  facade: FacadeLink,
): EngineParts {
  const stats = new StatsRecorder();
  const waiters = new Waiters();
  // The parts call each other through closures: each is built before any of them runs.
  const lifecycle = new Lifecycle({
    changed: (task) => writer.mark(task),
    ended: (task) => runner.ended(task),
  });
  // How the task source tells the engine what it holds, released, lost or heard.
  const hooks: SourceHooks = {
    ready: (held) => {
      for (const task of held) runner.live.add(task);
      pool.fill();
    },
    due: (tasks) => runner.due(tasks),
    prepare: (tasks) => dependencies.loadParents(tasks),
    released: (tasks) => {
      for (const task of tasks) runner.live.delete(task.id);
    },
    controls: () => controls.claimControls(),
    applied: (changes) => {
      runner.applied(changes);
      waiters.poll(WAITER_POLL_BATCH, (id) => store.get(id));
    },
    lost: (ids) => runner.lost(ids),
    remoteEvent: (event) => {
      runner.relay(event);
      controls.relayed(event);
      schedules.relayed(event);
    },
    wanted: () => {
      if (facade.state() !== "running") return 0;
      const quick = stats.run.count > 0 && stats.run.percentile(0.5) < QUICK_CLAIM_MS;
      const target = pool.capacity + (quick ? CLAIM_AHEAD : 0);
      return target - pool.held - source.size;
    },
    workers: () => pool.info(),
  };
  const claimed = isSharedStore(store)
    ? new ClaimedSource(store, {
      nodeId: options.nodeId,
      agingMs: options.agingMs,
      leaseMs: options.leaseMs,
      heartbeatMs: options.heartbeatMs,
    }, hooks)
    : null;
  const source: TaskSource = claimed ?? new LocalSource({ agingMs: options.agingMs }, hooks);
  const writer = new StoreWriter(store, claimed?.fencing ?? null);
  // On a shared store the rate is one budget for the cluster, spent by claims.
  const gate: TypeGate = new TypeGate({
    enforceRate: claimed === null,
    wake: () => pool.fill(),
    heldNow: (type): Iterable<{ type: string }> => pool.heldJobs(type),
  });
  const runner = new Runner(options, {
    store,
    lifecycle,
    writer,
    stats,
    waiters,
    gate,
    ended: (task) => dependencies.ended(task),
  });
  const controls = new TypeControls({
    store,
    types,
    gate,
    emit: (event) => lifecycle.emit(event),
    changed: (type) => {
      if (facade.state() === "closed") return;
      pool.recall(type);
      source.controlsChanged(type);
      pool.fill();
    },
  });
  const dependencies = new Dependencies({
    store,
    shared: claimed === null ? null : store as SharedTaskStore,
    lifecycle,
    writer,
    live: runner.live,
    place: (task, now) => runner.place(task, now),
    applied: (changes) => runner.applied(changes),
    blockedInCluster: async () => (await source.counts(lifecycle.counts)).blocked,
  });
  const pool = new WorkerPool({
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
      ...runner.poolHooks,
      threadStuck: (thread, switched) => {
        // taskTypes() tells where each type runs now.
        for (const type of switched) types.get(type)!.isolation = "process";
        warnStuck(thread, switched);
      },
    },
  });
  runner.connect(source, pool);
  if (claimed !== null) {
    lifecycle.listen((event) => {
      if (!runner.relaying) claimed.publish(event);
    });
  }
  const admission = new Admission({
    options,
    store,
    hasTaskType: (type) => types.has(type),
    source,
    pool,
    writer,
    runner,
    dependencies,
    assertAccepting: () => facade.assertAccepting(),
  });
  const schedules = new Schedules({
    store,
    shared: claimed !== null,
    owner: options.nodeId,
    clock: REAL_CLOCK,
    checkTask: (task) => {
      const context = { options, hasTaskType: (t: string) => types.has(t) };
      buildTask(task, context, Date.now(), "task.");
    },
    assertAccepting: () => facade.assertAccepting(),
    submit: async (input, schedule) => (await admission.submit([input], false, schedule))[0],
    task: (id) => facade.get(id),
    emit: (event) => lifecycle.emit(event),
  });
  const retention = new Retention(store, {
    retentionMs: options.retentionMs,
    retentionMaxFinished: options.retentionMaxFinished,
    onPruned: async () => {
      const { succeeded, failed, cancelled } = await store.counts();
      lifecycle.recount({ succeeded, failed, cancelled });
    },
  });
  return {
    lifecycle,
    source,
    writer,
    gate,
    runner,
    controls,
    dependencies,
    pool,
    schedules,
    retention,
    admission,
    stats,
    waiters,
  };
}

/**
 * Starts the parts that wait on I/O, in order: the type controls are read,
 * a local store's unfinished tasks recovered, the workers and the source
 * started. Rejects with the first failure; the caller then abandons the
 * parts ({@linkcode abandonParts}).
 */
export async function startParts(
  parts: EngineParts,
  store: TaskStore,
  unfinished: Task[],
): Promise<void> {
  await parts.controls.load();
  await recoverUnfinished(parts, store, unfinished);
  await parts.pool.start();
  await parts.source.start();
}

/** Stops the parts of an engine that failed to start, and closes its store. */
export async function abandonParts(parts: EngineParts, store: TaskStore): Promise<void> {
  parts.gate.close();
  await parts.pool.close();
  await parts.source.close([]);
  await parts.writer.settled();
  await store.close();
}

/**
 * Sets a started engine going: retention, the dependency sweep and the
 * schedules start, and the workers get their first tasks. Returns the timer
 * that rereads the type controls on a shared store (to clear at close).
 */
export function runParts(parts: EngineParts): ReturnType<typeof setInterval> | undefined {
  parts.retention.start();
  parts.dependencies.start();
  parts.schedules.start();
  let controlsTimer: ReturnType<typeof setInterval> | undefined;
  if (parts.source.shared) {
    controlsTimer = setInterval(() => {
      parts.controls.refresh().catch(() => {});
    }, CONTROLS_REFRESH_MS);
  }
  parts.pool.fill();
  return controlsTimer;
}

/**
 * Stops an engine's parts, in order: no more schedules, sweeps or starts;
 * every task a worker has not started is taken back; running tasks get up
 * to `drainMs` to finish; then the workers go, the source gives back what it
 * holds, the last writes settle and the store closes.
 */
export async function stopParts(
  parts: EngineParts,
  store: TaskStore,
  drainMs: number,
): Promise<void> {
  const { schedules, dependencies, gate, runner, pool, retention, writer, source } = parts;
  await schedules.close();
  dependencies.close();
  gate.close();
  runner.stopAccepting();
  pool.recall();
  await retention.stop();
  if (drainMs > 0) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      runner.drained(),
      new Promise<void>((resolve) => timer = setTimeout(resolve, drainMs)),
    ]);
    clearTimeout(timer);
  }
  await pool.close();
  const stuck = pool.stuckThreads;
  if (stuck.length > 0) {
    console.warn(
      `ThreadFlow closed, but ${stuck.length} terminated worker thread(s) keep running ` +
        `tasks of type ${[...new Set(stuck.flatMap((thread) => thread.types))].join(", ")}` +
        `: this process will not exit by itself. Deno cannot stop a thread busy in a loop; ` +
        `run such types in worker processes (export const isolation = "process").`,
    );
  }
  await writer.settled();
  await source.close([...runner.live.values()]);
  await writer.settled();
  await store.close();
}

/**
 * A local store's unfinished tasks, as `store.open()` returned them: waiting
 * ones are queued again, running ones failed or retried. A shared store's
 * are left to the cluster's sweeps.
 */
async function recoverUnfinished(
  parts: EngineParts,
  store: TaskStore,
  unfinished: Task[],
): Promise<void> {
  const { source, lifecycle, dependencies, runner } = parts;
  if (source.shared) return;
  lifecycle.recount(await store.counts());
  // Released dependent tasks get their parents' outcomes again before they can run.
  await dependencies.loadParents(unfinished.filter((task) => task.status !== "blocked"));
  const now = Date.now();
  for (const task of unfinished) runner.live.add(task);
  for (const task of unfinished) {
    if (task.status === "blocked") continue;
    if (task.status === "running") {
      // The process stopped while the task ran: at-least-once, so run it again if attempts remain.
      runner.fail(task, new WorkerExitedError("the process stopped while the task ran"), now);
    } else runner.place(task, now);
  }
  dependencies.recover(unfinished);
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
