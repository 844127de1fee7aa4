/**
 * Shared pieces of the pool benchmark: the workload sizes every part uses,
 * timing a run of tasks (wall clock and CPU time), the main thread's CPU
 * clock, latency sampling, and driving a fresh ThreadFlow engine with no-ops.
 *
 * @module
 */

import process from "node:process";
import { benchScale } from "./_report.ts";
import { type SubmitInput, ThreadFlow, type ThreadFlowEvent } from "../mod.ts";

/** Multiplies every task count; `BENCH_SCALE=0.1` gives a quick run. */
export const SCALE: number = benchScale();
/** Workers in every pool and bare workers alongside: one per core. */
export const WORKERS: number = navigator.hardwareConcurrency;
/** No-op tasks per throughput run. */
export const THROUGHPUT_TASKS: number = scaled(200_000);
/** Throughput runs per variant; the median run is reported. */
export const THROUGHPUT_REPEATS = 3;
/** Latency samples alternate between bare and pool in blocks this size. */
const LATENCY_BLOCK = 250;
/** The `n` of every fib task. */
export const FIB_N = 27;
/** Tasks per `submitBatch` call. */
export const SUBMIT_BATCH = 1_000;
/** Linux's USER_HZ, the unit of /proc CPU times. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * `count` multiplied by {@linkcode SCALE}, rounded, at least 1.
 *
 * @example
 * ```ts
 * import { scaled } from "./_pool_measure.ts";
 * const tasks = scaled(10_000); // 1,000 with BENCH_SCALE=0.1
 * ```
 */
export function scaled(count: number): number {
  return Math.max(1, Math.round(count * SCALE));
}

/**
 * A throughput run: wall-clock rate, CPU time of every thread of this process
 * per task, and CPU time of the main thread alone per task (`null` where
 * /proc is missing). CPU times barely move when other processes compete for
 * the cores; the rate does.
 */
export interface Throughput {
  perSecond: number;
  cpuMicrosPerTask: number;
  mainThreadCpuMicrosPerTask: number | null;
}

/**
 * Times `body`, which runs `tasks` tasks: their rate and CPU time per task.
 *
 * @example
 * ```ts
 * import { timeTasks } from "./_pool_measure.ts";
 * const run = await timeTasks(1_000, async () => {
 *   for (let i = 0; i < 1_000; i++) await Promise.resolve();
 * });
 * console.log(run.perSecond);
 * ```
 */
export async function timeTasks(tasks: number, body: () => Promise<void>): Promise<Throughput> {
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

/**
 * CPU time of this process's main thread so far, in ms, or `null` off Linux.
 *
 * @example
 * ```ts
 * import { mainThreadCpuMs } from "./_pool_measure.ts";
 * console.log(mainThreadCpuMs());
 * ```
 */
export function mainThreadCpuMs(): number | null {
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

/**
 * The run with the median rate.
 *
 * @example
 * ```ts
 * import { medianOf, timeTasks } from "./_pool_measure.ts";
 * const runs = [];
 * for (let i = 0; i < 3; i++) runs.push(await timeTasks(1, async () => {}));
 * console.log(medianOf(runs).perSecond);
 * ```
 */
export function medianOf(runs: Throughput[]): Throughput {
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * The one-minute load average, or `null` where /proc/loadavg is missing.
 *
 * @example
 * ```ts
 * import { loadAverage } from "./_pool_measure.ts";
 * console.log(await loadAverage());
 * ```
 */
export async function loadAverage(): Promise<number | null> {
  try {
    return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  } catch {
    return null;
  }
}

/**
 * Times `count` sequential round trips of each kind, alternating between the
 * two in blocks so both see the same machine state. Milliseconds each.
 *
 * @example
 * ```ts
 * import { sampleLatencies } from "./_pool_measure.ts";
 * const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
 * const { bare, pool } = await sampleLatencies(tick, tick, 10);
 * console.log(bare[0], pool[0]);
 * ```
 */
export async function sampleLatencies(
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

/** No-op tasks a fresh engine runs before anything on it is timed, unless told otherwise. */
export const POOL_WARM_UP_TASKS: number = Math.min(THROUGHPUT_TASKS, 20_000);

/**
 * Runs `body` on a fresh engine warmed up with `warmUpTasks` no-ops (default
 * {@linkcode POOL_WARM_UP_TASKS}), closing it afterwards.
 *
 * @example
 * ```ts
 * import { withPool } from "./_pool_measure.ts";
 * const stats = await withPool((tf) => tf.stats());
 * console.log(stats.counts);
 * ```
 */
export async function withPool<T>(
  body: (tf: ThreadFlow) => Promise<T>,
  options: { dispatchBatch?: number; tasksDir?: URL; warmUpTasks?: number } = {},
  warmUpType = "noop",
): Promise<T> {
  const { warmUpTasks = POOL_WARM_UP_TASKS, ...engineOptions } = options;
  const tf = await ThreadFlow.start({ workers: WORKERS, ...engineOptions });
  try {
    await poolThroughputByEvents(tf, warmUpTasks, warmUpType);
    return await body(tf);
  } finally {
    await tf.close({ drainMs: 1_000 });
  }
}

/**
 * `count` submit inputs of one task type (default `noop`), for `submitBatch`.
 *
 * @example
 * ```ts
 * import { noopInputs } from "./_pool_measure.ts";
 * console.log(noopInputs(2)); // [{ type: "noop" }, { type: "noop" }]
 * ```
 */
export function noopInputs(count: number, type = "noop"): SubmitInput[] {
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
 *
 * @example
 * ```ts
 * import { poolThroughputByEvents, withPool } from "./_pool_measure.ts";
 * const run = await withPool((tf) => poolThroughputByEvents(tf, 10_000));
 * console.log(run.perSecond);
 * ```
 */
export async function poolThroughputByEvents(
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
