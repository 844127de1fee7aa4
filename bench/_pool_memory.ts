/**
 * The pool benchmark's memory rows, (d): memory per queued task and whether
 * submit cost stays flat as the queue grows. The measurement runs in a fresh
 * process (this file is its entry point), with `gc()` exposed, so nothing the
 * other measurements left on the heap counts.
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/_pool_memory.ts   # prints the child's JSON line
 * ```
 *
 * @module
 */

import { type BenchRow, formatValue, percentile } from "./_report.ts";
import { ThreadFlow } from "../mod.ts";
import {
  mainThreadCpuMs,
  noopInputs,
  SCALE,
  scaled,
  SUBMIT_BATCH,
  WORKERS,
} from "./_pool_measure.ts";

const MEMORY_TASKS = scaled(1_000_000);
/** Submit cost is timed per chunk of this many tasks. */
const SUBMIT_CHUNK = Math.max(SUBMIT_BATCH, Math.round(MEMORY_TASKS / 10));

/**
 * (d) Memory per queued task and submit cost as the queue grows, in a fresh
 * process. Adds the child's figures to `details.memory`.
 *
 * @example
 * ```ts
 * import { measureMemory } from "./_pool_memory.ts";
 * const rows = await measureMemory({});
 * console.log(rows.length);
 * ```
 */
export async function measureMemory(details: Record<string, unknown>): Promise<BenchRow[]> {
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

async function measureQueuedMemoryInChild(): Promise<MemoryResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
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

if (import.meta.main) {
  console.log(JSON.stringify(await measureQueuedMemory()));
  // Closing would cancel a million queued tasks; this process only measures.
  Deno.exit(0);
}
