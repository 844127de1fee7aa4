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
  type BenchSection,
  formatValue,
  percentile,
  printSection,
} from "./_report.ts";
import type { Task, ThreadFlow } from "../mod.ts";
import fib from "../workers/tasks/fib.ts";
import {
  FIB_N,
  loadAverage,
  medianOf,
  noopInputs,
  POOL_WARM_UP_TASKS,
  poolThroughputByEvents,
  sampleLatencies,
  SCALE,
  scaled,
  SUBMIT_BATCH,
  type Throughput,
  THROUGHPUT_REPEATS,
  THROUGHPUT_TASKS,
  timeTasks,
  withPool,
  WORKERS,
} from "./_pool_measure.ts";
import { bareFib, bareThroughput, roundTripBare, startBareWorkers } from "./_pool_bare.ts";
import { measureProcessIsolation } from "./_pool_process.ts";
import { measureMemory } from "./_pool_memory.ts";

const LATENCY_TASKS = scaled(10_000);
const FIB_TASKS = 200;
/** Alternating serial / bare / pool rounds of FIB_TASKS each; medians are reported. */
const FIB_ROUNDS = 3;
const BARE_TASKS_PER_MESSAGE = 256;
/**
 * No-op tasks the bare workers run before the ceiling is timed; the pool's
 * engines for the throughput goal are warmed up with as many.
 */
const CEILING_WARM_UP_TASKS = 120_000;
/** Messages each bare worker has outstanding: the next one waits while the main thread reads a reply. */
const BARE_MESSAGES_IN_FLIGHT = 2;

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
  await bareThroughput(bare, { ...ceilingOptions, tasks: CEILING_WARM_UP_TASKS - 20_000 });

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
  // Alternate, so drift (other processes, GC) hits both alike. Each pool run gets a fresh engine,
  // warmed up with as many tasks as the ceiling's workers were: a fresh engine's first hundred
  // thousand tasks also pay for growing its heap (the row after shows that start alone).
  const warmed = { warmUpTasks: CEILING_WARM_UP_TASKS };
  for (let i = 0; i < THROUGHPUT_REPEATS; i++) {
    ceilingRuns.push(await bareThroughput(bare, ceilingOptions));
    poolRuns.push(await withPool((tf) => poolThroughputByEvents(tf, THROUGHPUT_TASKS), warmed));
  }
  const freshStart = await withPool((tf) => poolThroughputByEvents(tf, THROUGHPUT_TASKS));
  const byWait = await withPool((tf) => poolThroughputByWait(tf, THROUGHPUT_TASKS));
  const noPrefetch = await withPool(
    (tf) => poolThroughputByEvents(tf, THROUGHPUT_TASKS),
    { dispatchBatch: 1 },
  );
  const ceiling = medianOf(ceilingRuns);
  const pool = medianOf(poolRuns);
  Object.assign(details, { pingPong, pipelined, ceilingRuns, poolRuns, freshStart, byWait });
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
      name: `(a) pool, fresh engine (${formatValue(POOL_WARM_UP_TASKS)}-task warm-up), tf.on`,
      value: freshStart.perSecond,
      unit: "tasks/s",
      baseline: ceilingLabel,
      ratio: freshStart.perSecond / ceiling.perSecond,
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

if (import.meta.main) {
  printSection(await run());
}
