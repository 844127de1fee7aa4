/**
 * Pool benchmark: ThreadFlow's worker pool against a bare `postMessage`
 * ping-pong with the same number of plain module workers (the ceiling).
 *
 * Measures, in one run: (a) no-op throughput, (b) idle round-trip latency,
 * (c) CPU-bound speedup over the main thread, (d) memory per queued task and
 * whether submit cost stays flat as the queue grows.
 *
 * ```sh
 * deno task bench pool                  # through the runner (writes bench/results/)
 * deno run -A bench/pool_bench.ts        # this section alone
 * BENCH_SCALE=0.1 deno task bench pool   # a quick, smaller run
 * ```
 *
 * @module
 */

import {
  type BenchRow,
  benchScale,
  type BenchSection,
  formatValue,
  percentile,
  printSection,
} from "./_report.ts";
import type { BareResult, BareTask } from "./_bare_worker.ts";
import process from "node:process";
import { type SubmitInput, type Task, ThreadFlow, type ThreadFlowEvent } from "../mod.ts";
import fib from "../workers/tasks/fib.ts";
import { type PoolHooks, type PoolJob, WorkerPool } from "../engine/pool/pool.ts";
import { NO_PERMISSIONS } from "../engine/pool/permissions.ts";

/** Multiplies every task count; `BENCH_SCALE=0.1` gives a quick run. */
const SCALE = benchScale();
const WORKERS = navigator.hardwareConcurrency;
const THROUGHPUT_TASKS = scaled(200_000);
const THROUGHPUT_REPEATS = 3;
const LATENCY_TASKS = scaled(10_000);
/** Latency samples alternate between bare and pool in blocks this size. */
const LATENCY_BLOCK = 250;
const FIB_TASKS = 200;
const FIB_N = 27;
/** Alternating serial / bare / pool rounds of FIB_TASKS each; medians are reported. */
const FIB_ROUNDS = 3;
const MEMORY_TASKS = scaled(1_000_000);
/** Tasks per `submitBatch` call. */
const SUBMIT_BATCH = 1_000;
/** Submit cost is timed per chunk of this many tasks. */
const SUBMIT_CHUNK = Math.max(SUBMIT_BATCH, Math.round(MEMORY_TASKS / 10));
const BARE_TASKS_PER_MESSAGE = 256;
/** Messages each bare worker has outstanding: the next one waits while the main thread reads a reply. */
const BARE_MESSAGES_IN_FLIGHT = 2;
/** Task types in worker processes (`noop_process`, `spin_process`). */
const PROCESS_TASKS = new URL("./process_tasks/", import.meta.url);
/** Process slot respawns timed, with a warm spare and without each. */
const RESPAWNS = 10;
/** Rounds the respawns are split in, alternating cold and spare. */
const RESPAWN_ROUNDS = 2;
/** Linux's USER_HZ, the unit of /proc CPU times. */
const CLOCK_TICKS_PER_SECOND = 100;

function scaled(count: number): number {
  return Math.max(1, Math.round(count * SCALE));
}

/**
 * Runs the pool section and returns its rows.
 *
 * @example
 * ```ts
 * import { run } from "./pool_bench.ts";
 * const section = await run();
 * console.log(section.rows.length);
 * ```
 */
export async function run(): Promise<BenchSection> {
  const loadAtStart = await loadAverage();
  const details: Record<string, unknown> = { workers: WORKERS, scale: SCALE, loadAtStart };
  const rows: BenchRow[] = [];
  const bare = await startBareWorkers(WORKERS);
  try {
    rows.push(...await measureThroughput(bare, details));
    rows.push(...await measureProcessIsolation(details));
    rows.push(...await measureLatency(bare, details));
    rows.push(...await measureFib(bare, details));
    rows.push(...await measureHeadOfLine(details));
  } finally {
    for (const worker of bare) worker.terminate();
  }
  rows.push(...await measureMemory(details));
  details.loadAtEnd = await loadAverage();
  const load = loadAtStart === null ? "" : `; load average ${loadAtStart.toFixed(2)} at start`;
  return { title: `Pool (${WORKERS} workers${load})`, rows, details };
}

/** (a) No-op throughput: bare variants, then bare ceiling and pool alternating. */
async function measureThroughput(
  bare: Worker[],
  details: Record<string, unknown>,
): Promise<BenchRow[]> {
  const ceilingOptions = {
    tasks: THROUGHPUT_TASKS,
    tasksPerMessage: BARE_TASKS_PER_MESSAGE,
    messagesInFlight: BARE_MESSAGES_IN_FLIGHT,
  };
  // Warm up so the JIT and the worker threads are hot before anything counts.
  await bareThroughput(bare, { tasks: 20_000, tasksPerMessage: 1, messagesInFlight: 1 });
  await bareThroughput(bare, { ...ceilingOptions, tasks: 100_000 });

  const pingPong = await bareThroughput(bare, {
    tasks: THROUGHPUT_TASKS,
    tasksPerMessage: 1,
    messagesInFlight: 1,
  });
  const pipelined = await bareThroughput(bare, {
    tasks: THROUGHPUT_TASKS,
    tasksPerMessage: 1,
    messagesInFlight: BARE_MESSAGES_IN_FLIGHT,
  });
  const ceilingRuns: Throughput[] = [];
  const poolRuns: Throughput[] = [];
  // Alternate, so drift (other processes, GC) hits both alike; each pool run gets a fresh engine.
  for (let i = 0; i < THROUGHPUT_REPEATS; i++) {
    ceilingRuns.push(await bareThroughput(bare, ceilingOptions));
    poolRuns.push(await withPool((tf) => poolThroughputByEvents(tf, THROUGHPUT_TASKS)));
  }
  const byWait = await withPool((tf) => poolThroughputByWait(tf, THROUGHPUT_TASKS));
  const noPrefetch = await withPool(
    (tf) => poolThroughputByEvents(tf, THROUGHPUT_TASKS),
    { dispatchBatch: 1 },
  );
  const ceiling = medianOf(ceilingRuns);
  const pool = medianOf(poolRuns);
  Object.assign(details, { pingPong, pipelined, ceilingRuns, poolRuns, byWait });
  details.threadPoolPerSecond = pool.perSecond;

  const ceilingLabel = `bare ≤${BARE_TASKS_PER_MESSAGE}/msg ${formatValue(ceiling.perSecond)}/s`;
  return [
    {
      name: "(a) bare, 1 task/msg, 1 in flight/worker",
      value: pingPong.perSecond,
      unit: "tasks/s",
    },
    {
      name: `(a) bare, 1 task/msg, ${BARE_MESSAGES_IN_FLIGHT} in flight/worker`,
      value: pipelined.perSecond,
      unit: "tasks/s",
    },
    {
      name:
        `(a) bare, ≤${BARE_TASKS_PER_MESSAGE} tasks/msg, ${BARE_MESSAGES_IN_FLIGHT} in flight (ceiling)`,
      value: ceiling.perSecond,
      unit: "tasks/s",
    },
    {
      name: "(a) pool, submitBatch + tf.on counting ends",
      value: pool.perSecond,
      unit: "tasks/s",
      baseline: ceilingLabel,
      ratio: pool.perSecond / ceiling.perSecond,
      goal: "ratio ≥ 0.30",
      ok: pool.perSecond / ceiling.perSecond >= 0.3,
    },
    {
      name: "(a) pool, prefetch off (dispatchBatch 1), tf.on",
      value: noPrefetch.perSecond,
      unit: "tasks/s",
      baseline: ceilingLabel,
      ratio: noPrefetch.perSecond / ceiling.perSecond,
    },
    {
      name: "(a) pool, submitBatch + tf.wait() per task",
      value: byWait.perSecond,
      unit: "tasks/s",
      baseline: ceilingLabel,
      ratio: byWait.perSecond / ceiling.perSecond,
    },
    {
      name: "(a) CPU per task, all threads, bare ceiling",
      value: ceiling.cpuMicrosPerTask,
      unit: "µs",
    },
    {
      name: "(a) CPU per task, all threads, pool",
      value: pool.cpuMicrosPerTask,
      unit: "µs",
      baseline: `bare ${formatValue(ceiling.cpuMicrosPerTask)} µs`,
      ratio: pool.cpuMicrosPerTask / ceiling.cpuMicrosPerTask,
    },
    ...mainThreadRows(ceiling, pool),
  ];
}

/** Main-thread CPU per task: what bounds the pool's throughput once the workers keep up. */
function mainThreadRows(ceiling: Throughput, pool: Throughput): BenchRow[] {
  const bareMain = ceiling.mainThreadCpuMicrosPerTask;
  const poolMain = pool.mainThreadCpuMicrosPerTask;
  if (bareMain === null || poolMain === null) return [];
  return [
    { name: "(a) CPU per task, main thread, bare ceiling", value: bareMain, unit: "µs" },
    {
      name: "(a) CPU per task, main thread, pool",
      value: poolMain,
      unit: "µs",
      baseline: `bare ${formatValue(bareMain)} µs`,
      ratio: poolMain / bareMain,
      goal: "≤ 2.5 µs",
      ok: poolMain <= 2.5,
    },
  ];
}

/** (b) Idle round trip: bare and pool alternate in blocks within one run. */
async function measureLatency(
  bare: Worker[],
  details: Record<string, unknown>,
): Promise<BenchRow[]> {
  const latency = await withPool((tf) =>
    sampleLatencies(roundTripBare(bare), roundTripPool(tf), LATENCY_TASKS)
  );
  const bareP50 = percentile(latency.bare, 50);
  const bareP99 = percentile(latency.bare, 99);
  const poolP50 = percentile(latency.pool, 50);
  const poolP99 = percentile(latency.pool, 99);
  details.latencyMs = { bareP50, bareP99, poolP50, poolP99 };
  return [
    { name: "(b) bare round trip p50", value: bareP50, unit: "ms" },
    { name: "(b) bare round trip p99", value: bareP99, unit: "ms" },
    {
      name: "(b) pool submit + wait p50",
      value: poolP50,
      unit: "ms",
      baseline: `bare p50 ${formatValue(bareP50)} ms`,
      ratio: poolP50 / bareP50,
      goal: "ratio ≤ 1.5",
      ok: poolP50 / bareP50 <= 1.5,
    },
    {
      name: "(b) pool submit + wait p99",
      value: poolP99,
      unit: "ms",
      baseline: `bare p99 ${formatValue(bareP99)} ms`,
      ratio: poolP99 / bareP99,
    },
  ];
}

/**
 * (c) CPU-bound: the same fib handler serially, on the bare workers and on
 * the pool, in alternating rounds (medians), so a burst of load from other
 * processes hits all three alike.
 */
async function measureFib(
  bare: Worker[],
  details: Record<string, unknown>,
): Promise<BenchRow[]> {
  const payload = { n: FIB_N };
  const rounds = await withPool(async (tf) => {
    // Warm up every copy of the handler: the main thread's, the bare workers', the pool's.
    for (let i = 0; i < 20; i++) fib(payload);
    await bareFib(bare, WORKERS * 5);
    await poolFib(tf, WORKERS * 5);
    const times = { serialMs: [] as number[], bareMs: [] as number[], poolMs: [] as number[] };
    for (let round = 0; round < FIB_ROUNDS; round++) {
      let expected = 0;
      const serialStarted = performance.now();
      for (let i = 0; i < FIB_TASKS; i++) expected += fib(payload);
      times.serialMs.push(performance.now() - serialStarted);
      times.bareMs.push(await bareFib(bare, FIB_TASKS));
      const { ms, sum } = await poolFib(tf, FIB_TASKS);
      if (sum !== expected) {
        throw new Error(`fib results differ: the pool summed ${sum}, the main thread ${expected}.`);
      }
      times.poolMs.push(ms);
    }
    return times;
  });
  details.fibMs = rounds;
  const serialMs = percentile(rounds.serialMs, 50);
  const bareMs = percentile(rounds.bareMs, 50);
  const poolMs = percentile(rounds.poolMs, 50);
  const bareSpeedup = serialMs / bareMs;
  const poolSpeedup = serialMs / poolMs;
  const serialLabel = `serial ${formatValue(serialMs)} ms`;
  return [
    {
      name: `(c) ${FIB_TASKS} x fib(${FIB_N}), main thread serially`,
      value: serialMs,
      unit: "ms",
    },
    {
      name: `(c) ${FIB_TASKS} x fib(${FIB_N}), bare workers (speedup)`,
      value: bareMs,
      unit: "ms",
      baseline: serialLabel,
      ratio: bareSpeedup,
    },
    {
      name: `(c) ${FIB_TASKS} x fib(${FIB_N}), pool (speedup)`,
      value: poolMs,
      unit: "ms",
      baseline: serialLabel,
      ratio: poolSpeedup,
      goal: "≥ 0.9 × the bare workers' speedup",
      ok: poolSpeedup >= 0.9 * bareSpeedup,
    },
  ];
}

/**
 * (e) Head of line: one long task and 100 quick ones in one batch on idle
 * workers. Every quick task must end long before the long one: none waits
 * in the long task's worker while another worker is free.
 */
async function measureHeadOfLine(details: Record<string, unknown>): Promise<BenchRow[]> {
  const longMs = 1_500;
  return await withPool(async (tf) => {
    const started = Date.now();
    const [long, ...quick] = await tf.submitBatch([
      { type: "sleep", payload: { ms: longMs } },
      ...noopInputs(100),
    ]);
    const done = await Promise.all(quick.map((task) => tf.wait(task.id)));
    const lastQuick = Math.max(...done.map((task) => task.finishedAt!)) - started;
    const longestRun = Math.max(...done.map((task) => task.finishedAt! - task.startedAt!));
    await tf.wait(long.id);
    details.headOfLine = { lastQuick, longestRun };
    return [
      {
        name: `(e) 1 × ${longMs} ms sleep + 100 noop in one batch: last noop done`,
        value: lastQuick,
        unit: "ms",
        baseline: `the sleep ${longMs} ms`,
        ratio: lastQuick / longMs,
        goal: "ratio < 0.1",
        ok: lastQuick / longMs < 0.1,
      },
      {
        name: "(e) longest run a noop was reported with",
        value: longestRun,
        unit: "ms",
        goal: "< 5 ms (not the sleep's)",
        ok: longestRun < 5,
      },
    ];
  });
}

/** (d) Memory per queued task and submit cost as the queue grows, in a fresh process. */
async function measureMemory(details: Record<string, unknown>): Promise<BenchRow[]> {
  const memory = await measureQueuedMemoryInChild();
  details.memory = memory;
  const perTask = memory.rssGrowthBytes / memory.tasks;
  // Main-thread CPU when /proc has it: wall time also counts other processes' turns on the cores.
  const chunks = memory.chunkCpuMs ?? memory.chunkMs;
  const clock = memory.chunkCpuMs === null ? "wall" : "main-thread CPU";
  // Medians of three, so one major GC landing in a chunk does not decide the verdict.
  const first = percentile(chunks.slice(0, 3), 50);
  const last = percentile(chunks.slice(-3), 50);
  const submitRatio = last / first;
  return [
    {
      name: `(d) RSS growth per queued task (${formatValue(memory.tasks)} queued${
        memory.gc ? ", after GC" : ", no GC"
      })`,
      value: perTask,
      unit: "B/task",
      goal: "< 1,024",
      ok: perTask < 1024,
    },
    {
      name: "(d) JS heap growth per queued task",
      value: memory.heapGrowthBytes / memory.tasks,
      unit: "B/task",
    },
    {
      name: `(d) submit rate, ${formatValue(memory.tasks)} via submitBatch(${SUBMIT_BATCH})`,
      value: memory.tasks / (memory.totalSubmitMs / 1000),
      unit: "tasks/s",
    },
    {
      name: `(d) submit ${clock} per ${formatValue(SUBMIT_CHUNK)}, last 3 vs first 3 (median)`,
      value: last,
      unit: "ms",
      baseline: `first ${formatValue(first)} ms`,
      ratio: submitRatio,
      goal: "ratio ≤ 1.5 (flat)",
      ok: submitRatio <= 1.5,
    },
  ];
}

// ---------------------------------------------------------------------------
// Bare postMessage ceiling

async function startBareWorkers(count: number): Promise<Worker[]> {
  const workers: Worker[] = [];
  for (let i = 0; i < count; i++) {
    workers.push(new Worker(new URL("./_bare_worker.ts", import.meta.url), { type: "module" }));
  }
  // One round trip each, so module loading is not timed later.
  await Promise.all(workers.map((worker) => postAndReceive(worker, bareTask("warm-up"))));
  return workers;
}

function bareTask(id: string): BareTask {
  return { id, type: "noop", payload: null };
}

function postAndReceive(worker: Worker, task: BareTask): Promise<BareResult> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<BareResult>) => resolve(event.data);
    worker.onerror = (event) => reject(event.error ?? new Error(event.message));
    worker.postMessage(task);
  });
}

interface BareThroughputOptions {
  tasks: number;
  tasksPerMessage: number;
  messagesInFlight: number;
}

/**
 * Pushes `tasks` no-op tasks through the workers, each worker keeping
 * `messagesInFlight` messages outstanding. Task ids are made before the clock
 * starts: the ceiling is the transport.
 */
async function bareThroughput(
  workers: Worker[],
  options: BareThroughputOptions,
): Promise<Throughput> {
  const { tasks, tasksPerMessage, messagesInFlight } = options;
  const ids = Array.from({ length: tasks }, () => crypto.randomUUID());
  return await timeTasks(tasks, () =>
    new Promise<void>((resolve, reject) => {
      let sent = 0;
      let answered = 0;
      const sendNext = (worker: Worker) => {
        if (sent >= tasks) return;
        if (tasksPerMessage === 1) {
          worker.postMessage(bareTask(ids[sent++]));
          return;
        }
        const end = Math.min(tasks, sent + tasksPerMessage);
        const message = new Array<BareTask>(end - sent);
        for (let i = sent; i < end; i++) message[i - sent] = bareTask(ids[i]);
        sent = end;
        worker.postMessage(message);
      };
      for (const worker of workers) {
        worker.onerror = (event) => reject(event.error ?? new Error(event.message));
        worker.onmessage = (event: MessageEvent<BareResult | BareResult[]>) => {
          answered += Array.isArray(event.data) ? event.data.length : 1;
          if (answered === tasks) resolve();
          else sendNext(worker);
        };
        for (let i = 0; i < messagesInFlight; i++) sendNext(worker);
      }
    }));
}

/** One sequential bare round trip per call, cycling through the workers. */
function roundTripBare(workers: Worker[]): () => Promise<void> {
  let next = 0;
  return async () => {
    const worker = workers[next];
    next = (next + 1) % workers.length;
    await postAndReceive(worker, bareTask(crypto.randomUUID()));
  };
}

/** Runs `count` fib tasks on the bare workers, one at a time per worker; returns ms. */
async function bareFib(workers: Worker[], count: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(workers.map(async (worker) => {
    while (next < count) {
      next++;
      await postAndReceive(worker, { id: String(next), type: "fib", payload: { n: FIB_N } });
    }
  }));
  return performance.now() - started;
}

// ---------------------------------------------------------------------------
// ThreadFlow pool

/** No-op throughput of process isolation against thread isolation, and a slot's respawn time. */
async function measureProcessIsolation(details: Record<string, unknown>): Promise<BenchRow[]> {
  const thread = details.threadPoolPerSecond as number;
  const runs: Throughput[] = [];
  for (let i = 0; i < THROUGHPUT_REPEATS; i++) {
    runs.push(
      await withPool(
        (tf) => poolThroughputByEvents(tf, THROUGHPUT_TASKS, "noop_process"),
        { tasksDir: PROCESS_TASKS },
        "noop_process",
      ),
    );
  }
  const process = medianOf(runs);
  // Rounds alternate cold and spare, so both meet the same load.
  const cold: number[] = [];
  const spare: number[] = [];
  for (let round = 0; round < RESPAWN_ROUNDS; round++) {
    cold.push(...await measureRespawns(RESPAWNS / RESPAWN_ROUNDS, false));
    spare.push(...await measureRespawns(RESPAWNS / RESPAWN_ROUNDS, true));
  }
  Object.assign(details, { processRuns: runs, processReadyMs: { cold, spare } });
  const coldMedian = percentile(cold, 50);
  const spareMedian = percentile(spare, 50);
  return [
    {
      name: "(a) pool, process isolation, submitBatch + tf.on",
      value: process.perSecond,
      unit: "tasks/s",
      baseline: `thread isolation ${formatValue(thread)}/s`,
      ratio: process.perSecond / thread,
      goal: "≥ 20,000/s and ratio ≥ 0.25",
      ok: process.perSecond >= 20_000 && process.perSecond / thread >= 0.25,
    },
    {
      name: `(a) process slot ready after a kill, cold start, median of ${cold.length}`,
      value: coldMedian,
      unit: "ms",
      baseline: `max ${formatValue(Math.max(...cold))} ms`,
    },
    {
      name: `(a) process slot ready after a kill, warm spare, median of ${spare.length}`,
      value: spareMedian,
      unit: "ms",
      baseline: `cold ${formatValue(coldMedian)} ms; max ${formatValue(Math.max(...spare))} ms`,
      ratio: spareMedian / coldMedian,
      goal: "< 300 ms",
      ok: spareMedian < 300,
    },
  ];
}

/**
 * Times `count` respawns of a process slot, with or without a warm spare
 * process: a spinning task's timeout kills the process; from the slot's
 * `worker.exited` to its new process's `worker.started`. Drives a
 * {@linkcode WorkerPool} directly (the spare is a pool option).
 */
async function measureRespawns(count: number, spareProcesses: boolean): Promise<number[]> {
  const queue: PoolJob[] = [];
  const samples: number[] = [];
  let exitedAt: number | null = null;
  let ended = () => {};
  const hooks: PoolHooks = {
    peek: () => queue[0],
    take: () => queue.shift()!,
    backlog: () => queue.length,
    giveBack: (jobs) => queue.unshift(...jobs),
    started: () => {},
    settled: () => ended(),
    interrupted: () => ended(),
    dropped: () => {},
    progress: () => {},
    workerEvent: (type, worker, reason) => {
      if (worker.isolation !== "process") return;
      if (type === "worker.exited" && reason === "timeout") exitedAt = performance.now();
      if (type === "worker.started" && exitedAt !== null) {
        samples.push(performance.now() - exitedAt);
        exitedAt = null;
      }
    },
  };
  const group = (isolation: "thread" | "process", types: Record<string, string>) => ({
    permissions: NO_PERMISSIONS,
    isolation,
    memoryLimitMb: 512,
    types,
  });
  const pool = new WorkerPool({
    size: 1,
    concurrency: 1,
    dispatchBatch: 1,
    cancelGraceMs: 1_000,
    nodeId: "bench",
    groups: [
      group("thread", {}),
      group("process", { spin_process: new URL("spin_process.ts", PROCESS_TASKS).href }),
    ],
    sandbox: true,
    agingMs: 0,
    memoryLimitMb: 512,
    spareProcesses,
    hooks,
  });
  try {
    await pool.start();
    for (let i = 0; i < count; i++) {
      const done = new Promise<void>((resolve) => ended = resolve);
      queue.push({
        id: `spin-${i}`,
        type: "spin_process",
        payload: null,
        priority: 5,
        attempts: 0,
        timeoutMs: 50,
        runAt: Date.now(),
      });
      pool.fill();
      await done;
      const deadline = Date.now() + 10_000;
      while (samples.length <= i && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  } finally {
    await pool.close();
  }
  return samples;
}

/** Runs `body` on a fresh, warmed-up engine, closing it afterwards. */
async function withPool<T>(
  body: (tf: ThreadFlow) => Promise<T>,
  options: { dispatchBatch?: number; tasksDir?: URL } = {},
  warmUpType = "noop",
): Promise<T> {
  const tf = await ThreadFlow.start({ workers: WORKERS, ...options });
  try {
    await poolThroughputByEvents(tf, Math.min(THROUGHPUT_TASKS, 20_000), warmUpType);
    return await body(tf);
  } finally {
    await tf.close({ drainMs: 1_000 });
  }
}

function noopInputs(count: number, type = "noop"): SubmitInput[] {
  const inputs = new Array<SubmitInput>(count);
  for (let i = 0; i < count; i++) inputs[i] = { type };
  return inputs;
}

function isTerminalEvent(event: ThreadFlowEvent): boolean {
  return event.type === "task.succeeded" || event.type === "task.failed" ||
    event.type === "task.cancelled";
}

/**
 * Submits `tasks` no-ops in `submitBatch` chunks and counts terminal events
 * until all have ended (submit of the first to end of the last).
 */
async function poolThroughputByEvents(
  tf: ThreadFlow,
  tasks: number,
  type = "noop",
): Promise<Throughput> {
  let ended = 0;
  let failed = 0;
  let allEnded!: () => void;
  const done = new Promise<void>((resolve) => allEnded = resolve);
  const unsubscribe = tf.on((event) => {
    if (!isTerminalEvent(event)) return;
    if (event.type !== "task.succeeded") failed++;
    if (++ended === tasks) allEnded();
  });
  try {
    const result = await timeTasks(tasks, async () => {
      for (let sent = 0; sent < tasks; sent += SUBMIT_BATCH) {
        await tf.submitBatch(noopInputs(Math.min(SUBMIT_BATCH, tasks - sent), type));
      }
      await done;
    });
    if (failed > 0) throw new Error(`${failed} of ${tasks} no-op tasks did not succeed.`);
    return result;
  } finally {
    unsubscribe();
  }
}

/** Like {@linkcode poolThroughputByEvents}, but awaits `tf.wait(id)` for every task. */
async function poolThroughputByWait(tf: ThreadFlow, tasks: number): Promise<Throughput> {
  let failed = 0;
  const result = await timeTasks(tasks, async () => {
    const waits: Promise<Task>[] = [];
    for (let sent = 0; sent < tasks; sent += SUBMIT_BATCH) {
      const results = await tf.submitBatch(noopInputs(Math.min(SUBMIT_BATCH, tasks - sent)));
      for (const task of results) waits.push(tf.wait(task.id));
    }
    for (const task of await Promise.all(waits)) if (task.status !== "succeeded") failed++;
  });
  if (failed > 0) throw new Error(`${failed} of ${tasks} no-op tasks did not succeed.`);
  return result;
}

/** One sequential pool round trip per call: submit a no-op, wait for it. */
function roundTripPool(tf: ThreadFlow): () => Promise<void> {
  return async () => {
    const task = await tf.submit({ type: "noop" });
    await tf.wait(task.id);
  };
}

/** Runs `count` fib tasks on the pool; returns ms and the sum of the results. */
async function poolFib(tf: ThreadFlow, count: number): Promise<{ ms: number; sum: number }> {
  const payload = { n: FIB_N };
  const started = performance.now();
  const submitted = await tf.submitBatch(
    Array.from({ length: count }, () => ({ type: "fib", payload })),
  );
  const ended = await Promise.all(submitted.map((task) => tf.wait(task.id)));
  const ms = performance.now() - started;
  return { ms, sum: ended.reduce((sum, task) => sum + (task.result as number), 0) };
}

// ---------------------------------------------------------------------------
// Memory per queued task (run in a child process)

/** What the memory child measures. */
interface MemoryResult {
  tasks: number;
  /** Whether `gc()` was available (`--v8-flags=--expose-gc`). */
  gc: boolean;
  rssBefore: number;
  rssAfter: number;
  rssAfterNoGc: number;
  rssGrowthBytes: number;
  heapGrowthBytes: number;
  /** Wall time of each SUBMIT_CHUNK submits, in order. */
  chunkMs: number[];
  /** Main-thread CPU time of each chunk, or `null` off Linux. */
  chunkCpuMs: number[] | null;
  totalSubmitMs: number;
  queued: number;
}

const MEMORY_CHILD_FLAG = "--memory-child";

async function measureQueuedMemoryInChild(): Promise<MemoryResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      MEMORY_CHILD_FLAG,
    ],
    env: { BENCH_SCALE: String(SCALE) },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    throw new Error(`The memory benchmark process failed (exit ${output.code}): ${text}`);
  }
  return JSON.parse(text.slice(text.lastIndexOf("\n") + 1));
}

/**
 * Parks every worker on a long sleep, then queues MEMORY_TASKS no-ops and
 * measures RSS and heap growth, and the time per SUBMIT_CHUNK submits.
 */
async function measureQueuedMemory(): Promise<MemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const collect = async () => {
    // Let pending store writes and timers run, then collect twice (weak refs, finalizers).
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc?.();
    gc?.();
  };
  const tf = await ThreadFlow.start({
    workers: WORKERS,
    maxQueued: MEMORY_TASKS + WORKERS,
  });
  const hold = 3_600_000;
  let running = 0;
  let allRunning!: () => void;
  const parked = new Promise<void>((resolve) => allRunning = resolve);
  const unsubscribe = tf.on((event) => {
    if (event.type === "task.started" && ++running === WORKERS) allRunning();
  });
  await tf.submitBatch(
    Array.from({ length: WORKERS }, () => ({
      type: "sleep",
      payload: { ms: hold },
      timeoutMs: hold,
    })),
  );
  await parked;
  unsubscribe();

  await collect();
  const before = Deno.memoryUsage();
  const chunkMs: number[] = [];
  const chunkCpuMs: number[] = [];
  const submitStarted = performance.now();
  for (let sent = 0; sent < MEMORY_TASKS;) {
    const chunkStarted = performance.now();
    const cpuStarted = mainThreadCpuMs();
    const chunkEnd = Math.min(MEMORY_TASKS, sent + SUBMIT_CHUNK);
    while (sent < chunkEnd) {
      const count = Math.min(SUBMIT_BATCH, chunkEnd - sent);
      await tf.submitBatch(noopInputs(count));
      sent += count;
    }
    chunkMs.push(performance.now() - chunkStarted);
    const cpuEnded = mainThreadCpuMs();
    if (cpuStarted !== null && cpuEnded !== null) chunkCpuMs.push(cpuEnded - cpuStarted);
  }
  const totalSubmitMs = performance.now() - submitStarted;
  const afterNoGc = Deno.memoryUsage();
  await collect();
  const after = Deno.memoryUsage();
  const stats = await tf.stats();
  if (stats.counts.queued !== MEMORY_TASKS) {
    throw new Error(
      `Expected ${MEMORY_TASKS} queued tasks, found ${stats.counts.queued}: workers were not parked.`,
    );
  }
  return {
    tasks: MEMORY_TASKS,
    gc: gc !== undefined,
    rssBefore: before.rss,
    rssAfter: after.rss,
    rssAfterNoGc: afterNoGc.rss,
    rssGrowthBytes: after.rss - before.rss,
    heapGrowthBytes: after.heapUsed - before.heapUsed,
    chunkMs,
    chunkCpuMs: chunkCpuMs.length === chunkMs.length ? chunkCpuMs : null,
    totalSubmitMs,
    queued: stats.counts.queued,
  };
}

// ---------------------------------------------------------------------------
// Helpers

/**
 * Times `count` sequential round trips of each kind, alternating between the
 * two in blocks so both see the same machine state. Milliseconds each.
 */
async function sampleLatencies(
  bare: () => Promise<void>,
  pool: () => Promise<void>,
  count: number,
): Promise<{ bare: Float64Array; pool: Float64Array }> {
  const samples = { bare: new Float64Array(count), pool: new Float64Array(count) };
  for (let block = 0; block < count; block += LATENCY_BLOCK) {
    const end = Math.min(count, block + LATENCY_BLOCK);
    for (const [kind, roundTrip] of [["bare", bare], ["pool", pool]] as const) {
      for (let i = block; i < end; i++) {
        const started = performance.now();
        await roundTrip();
        samples[kind][i] = performance.now() - started;
      }
    }
  }
  return samples;
}

/**
 * A throughput run: wall-clock rate, CPU time of every thread of this process
 * per task, and CPU time of the main thread alone per task (`null` where
 * /proc is missing). CPU times barely move when other processes compete for
 * the cores; the rate does.
 */
interface Throughput {
  perSecond: number;
  cpuMicrosPerTask: number;
  mainThreadCpuMicrosPerTask: number | null;
}

async function timeTasks(tasks: number, body: () => Promise<void>): Promise<Throughput> {
  const cpuBefore = process.cpuUsage();
  const mainBefore = mainThreadCpuMs();
  const started = performance.now();
  await body();
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const mainAfter = mainThreadCpuMs();
  return {
    perSecond: tasks / (elapsedMs / 1000),
    cpuMicrosPerTask: (cpu.user + cpu.system) / tasks,
    mainThreadCpuMicrosPerTask: mainBefore === null || mainAfter === null
      ? null
      : ((mainAfter - mainBefore) * 1000) / tasks,
  };
}

/** CPU time of this process's main thread so far, in ms, or `null` off Linux. */
function mainThreadCpuMs(): number | null {
  // The main thread's id is the process id. schedstat's first field is the
  // time it has run, in ns; stat's utime and stime count 10 ms ticks.
  try {
    const schedstat = Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/schedstat`);
    return Number(schedstat.split(" ")[0]) / 1e6;
  } catch {
    // Kernels without schedstats: fall back to the tick counts.
  }
  try {
    const stat = Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS_PER_SECOND);
  } catch {
    return null;
  }
}

/** The run with the median rate. */
function medianOf(runs: Throughput[]): Throughput {
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** The one-minute load average, or `null` where /proc/loadavg is missing. */
async function loadAverage(): Promise<number | null> {
  try {
    return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  } catch {
    return null;
  }
}

if (import.meta.main) {
  if (Deno.args[0] === MEMORY_CHILD_FLAG) {
    console.log(JSON.stringify(await measureQueuedMemory()));
    // Closing would cancel a million queued tasks; this process only measures.
    Deno.exit(0);
  }
  printSection(await run());
}
