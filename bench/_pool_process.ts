/**
 * The pool benchmark's process-isolation rows: no-op throughput of pools
 * whose task types run in worker processes, against thread isolation, and
 * how soon a process slot is ready again after its process is killed, with a
 * warm spare process and without.
 *
 * @module
 */

import { type BenchRow, formatValue, percentile } from "./_report.ts";
import { type PoolHooks, type PoolJob, WorkerPool } from "../engine/pool/pool.ts";
import { NO_PERMISSIONS } from "../engine/pool/permissions.ts";
import {
  medianOf,
  poolThroughputByEvents,
  type Throughput,
  THROUGHPUT_REPEATS,
  THROUGHPUT_TASKS,
  withPool,
} from "./_pool_measure.ts";

/** Task types in worker processes (`noop_process`, `spin_process`). */
const PROCESS_TASKS = new URL("./process_tasks/", import.meta.url);
/** Process slot respawns timed, with a warm spare and without each. */
const RESPAWNS = 10;
/** Rounds the respawns are split in, alternating cold and spare. */
const RESPAWN_ROUNDS = 2;

/**
 * No-op throughput of process isolation against thread isolation, and a
 * slot's respawn time. Reads `details.threadPoolPerSecond` (the thread pool's
 * rate, which the throughput rows record first) and adds its own figures.
 *
 * @example
 * ```ts
 * import { measureProcessIsolation } from "./_pool_process.ts";
 * const details: Record<string, unknown> = { threadPoolPerSecond: 100_000 };
 * const rows = await measureProcessIsolation(details);
 * console.log(rows.length);
 * ```
 */
export async function measureProcessIsolation(
  details: Record<string, unknown>,
): Promise<BenchRow[]> {
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
