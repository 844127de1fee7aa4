/**
 * Pool benchmark: ThreadFlow's worker pool against a bare `postMessage`
 * ping-pong with the same number of plain module workers (the ceiling).
 *
 * Measures, in one run: (a) no-op throughput, (b) idle round-trip latency,
 * (c) CPU-bound speedup over the main thread, (d) memory per queued task and
 * whether submit cost stays flat as the queue grows.
 *
 * ```sh
 * deno task bench pool
 * BENCH_SCALE=0.1 deno task bench pool   # a quick, smaller run
 * ```
 *
 * @module
 */

import { type BenchRow, type BenchSection, formatValue, percentile } from "./_report.ts";
import type { BareResult, BareTask } from "./_bare_worker.ts";
import { type SubmitInput, ThreadFlow, type ThreadFlowEvent } from "../mod.ts";
import fib from "../workers/tasks/fib.ts";

/** Multiplies every task count; `BENCH_SCALE=0.1` gives a quick run. */
const SCALE = readScale();
const WORKERS = navigator.hardwareConcurrency;
const THROUGHPUT_TASKS = scaled(200_000);
const THROUGHPUT_REPEATS = 3;
const LATENCY_TASKS = scaled(10_000);
/** Latency samples alternate between bare and pool in blocks this size. */
const LATENCY_BLOCK = 250;
const FIB_TASKS = 200;
const FIB_N = 27;
const MEMORY_TASKS = scaled(1_000_000);
/** Tasks per `submitBatch` call. */
const SUBMIT_BATCH = 1_000;
/** Submit cost is timed per chunk of this many tasks. */
const SUBMIT_CHUNK = Math.max(SUBMIT_BATCH, Math.round(MEMORY_TASKS / 10));
const BARE_TASKS_PER_MESSAGE = 256;
/** Messages each bare worker has outstanding: the next one waits while the main thread reads a reply. */
const BARE_MESSAGES_IN_FLIGHT = 2;

function readScale(): number {
  const raw = Deno.env.get("BENCH_SCALE");
  if (raw === undefined || raw === "") return 1;
  const value = Number(raw);
  if (!(value > 0 && value <= 1)) {
    throw new Error(`BENCH_SCALE must be a number above 0 and at most 1: received "${raw}".`);
  }
  return value;
}

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
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = { workers: WORKERS, scale: SCALE };
  const bare = await startBareWorkers(WORKERS);
  const tf = await ThreadFlow.start({ workers: WORKERS });
  try {
    // (a) Throughput. Warm every path up first so the JIT and the worker threads are hot.
    await bareThroughput(bare, { tasks: 20_000, tasksPerMessage: 1, messagesInFlight: 1 });
    await bareThroughput(bare, {
      tasks: 100_000,
      tasksPerMessage: BARE_TASKS_PER_MESSAGE,
      messagesInFlight: BARE_MESSAGES_IN_FLIGHT,
    });
    await poolThroughputByEvents(tf, scaled(50_000));

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
    const batchedRuns: number[] = [];
    const poolRuns: number[] = [];
    // Alternate bare and pool runs so drift (thermal, other load) hits both alike.
    for (let i = 0; i < THROUGHPUT_REPEATS; i++) {
      batchedRuns.push(
        await bareThroughput(bare, {
          tasks: THROUGHPUT_TASKS,
          tasksPerMessage: BARE_TASKS_PER_MESSAGE,
          messagesInFlight: BARE_MESSAGES_IN_FLIGHT,
        }),
      );
      poolRuns.push(await poolThroughputByEvents(tf, THROUGHPUT_TASKS));
    }
    const batched = median(batchedRuns);
    const pool = median(poolRuns);
    const poolByWait = await poolThroughputByWait(tf, THROUGHPUT_TASKS);
    Object.assign(details, { bareBatchedRuns: batchedRuns, poolRuns });
    const ceiling = `bare ≤${BARE_TASKS_PER_MESSAGE}/msg ${formatValue(batched)}/s`;
    rows.push(
      { name: "(a) bare, 1 task/msg, 1 msg in flight/worker", value: pingPong, unit: "tasks/s" },
      {
        name: `(a) bare, 1 task/msg, ${BARE_MESSAGES_IN_FLIGHT} msgs in flight/worker`,
        value: pipelined,
        unit: "tasks/s",
      },
      {
        name: `(a) bare, ≤${BARE_TASKS_PER_MESSAGE} tasks/msg (ceiling)`,
        value: batched,
        unit: "tasks/s",
      },
      {
        name: "(a) pool, submitBatch + tf.on count",
        value: pool,
        unit: "tasks/s",
        baseline: ceiling,
        ratio: pool / batched,
        goal: "ratio ≥ 0.70",
        ok: pool / batched >= 0.7,
      },
      {
        name: "(a) pool vs bare 1 task/msg ping-pong",
        value: pool,
        unit: "tasks/s",
        baseline: `bare 1/msg ${formatValue(pingPong)}/s`,
        ratio: pool / pingPong,
      },
      {
        name: "(a) pool, submitBatch + tf.wait() each",
        value: poolByWait,
        unit: "tasks/s",
        baseline: ceiling,
        ratio: poolByWait / batched,
      },
    );

    // (b) Idle round trip, bare and pool alternating in blocks within one run.
    const latency = await sampleLatencies(roundTripBare(bare), roundTripPool(tf), LATENCY_TASKS);
    const bareP50 = percentile(latency.bare, 50);
    const bareP99 = percentile(latency.bare, 99);
    const poolP50 = percentile(latency.pool, 50);
    const poolP99 = percentile(latency.pool, 99);
    rows.push(
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
    );

    // The bare workers would compete with the pool for the cores from here on.
    for (const worker of bare) worker.terminate();

    // (c) CPU-bound speedup.
    const fibResult = await measureFib(tf);
    details.fib = fibResult;
    const speedup = fibResult.serialMs / fibResult.poolMs;
    rows.push(
      {
        name: `(c) ${FIB_TASKS} x fib(${FIB_N}), main thread serially`,
        value: fibResult.serialMs,
        unit: "ms",
      },
      { name: `(c) ${FIB_TASKS} x fib(${FIB_N}), pool`, value: fibResult.poolMs, unit: "ms" },
      {
        name: `(c) fib speedup on ${WORKERS} workers`,
        value: speedup,
        unit: "x",
        baseline: "main thread serially",
        ratio: speedup,
        goal: "≥ 1.8",
        ok: speedup >= 1.8,
      },
    );
  } finally {
    for (const worker of bare) worker.terminate();
    await tf.close({ drainMs: 1_000 });
  }

  // (d) Memory, in a fresh process so nothing above is counted.
  const memory = await measureQueuedMemoryInChild();
  details.memory = memory;
  const perTask = memory.rssGrowthBytes / memory.tasks;
  const submitRatio = memory.lastChunkMs / memory.firstChunkMs;
  rows.push(
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
      name: `(d) submit ${formatValue(memory.tasks)} (submitBatch x ${SUBMIT_BATCH})`,
      value: memory.tasks / (memory.totalSubmitMs / 1000),
      unit: "tasks/s",
    },
    {
      name: `(d) submit cost, last ${formatValue(SUBMIT_CHUNK)} vs first`,
      value: memory.lastChunkMs,
      unit: "ms",
      baseline: `first ${formatValue(SUBMIT_CHUNK)} ${formatValue(memory.firstChunkMs)} ms`,
      ratio: submitRatio,
      goal: "ratio ≤ 1.5 (flat)",
      ok: submitRatio <= 1.5,
    },
  );

  return { title: `Pool (${WORKERS} workers)`, rows, details };
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
 * `messagesInFlight` messages outstanding, and returns tasks per second.
 * Task ids are made before the clock starts: the ceiling is the transport.
 */
function bareThroughput(workers: Worker[], options: BareThroughputOptions): Promise<number> {
  const { tasks, tasksPerMessage, messagesInFlight } = options;
  const ids = Array.from({ length: tasks }, () => crypto.randomUUID());
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = 0;
    const started = performance.now();
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
        if (answered === tasks) {
          resolve(tasks / ((performance.now() - started) / 1000));
        } else {
          sendNext(worker);
        }
      };
      for (let i = 0; i < messagesInFlight; i++) sendNext(worker);
    }
  });
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

// ---------------------------------------------------------------------------
// ThreadFlow pool

function noopInputs(count: number): SubmitInput[] {
  const inputs = new Array<SubmitInput>(count);
  for (let i = 0; i < count; i++) inputs[i] = { type: "noop" };
  return inputs;
}

function isTerminalEvent(event: ThreadFlowEvent): boolean {
  return event.type === "task.succeeded" || event.type === "task.failed" ||
    event.type === "task.cancelled";
}

/**
 * Submits `tasks` no-ops in `submitBatch` chunks and counts terminal events
 * until all have ended; returns tasks per second, submit to last end.
 */
async function poolThroughputByEvents(tf: ThreadFlow, tasks: number): Promise<number> {
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
    const started = performance.now();
    for (let sent = 0; sent < tasks; sent += SUBMIT_BATCH) {
      await tf.submitBatch(noopInputs(Math.min(SUBMIT_BATCH, tasks - sent)));
    }
    await done;
    const elapsed = performance.now() - started;
    if (failed > 0) throw new Error(`${failed} of ${tasks} no-op tasks did not succeed.`);
    return tasks / (elapsed / 1000);
  } finally {
    unsubscribe();
  }
}

/** Like {@linkcode poolThroughputByEvents}, but awaits `tf.wait(id)` for every task. */
async function poolThroughputByWait(tf: ThreadFlow, tasks: number): Promise<number> {
  const started = performance.now();
  const waits: Promise<unknown>[] = [];
  for (let sent = 0; sent < tasks; sent += SUBMIT_BATCH) {
    const results = await tf.submitBatch(noopInputs(Math.min(SUBMIT_BATCH, tasks - sent)));
    for (const { task } of results) waits.push(tf.wait(task.id));
  }
  const ended = await Promise.all(waits);
  const elapsed = performance.now() - started;
  const failed = ended.filter((task) => (task as { status: string }).status !== "succeeded");
  if (failed.length > 0) {
    throw new Error(`${failed.length} of ${tasks} no-op tasks did not succeed.`);
  }
  return tasks / (elapsed / 1000);
}

/** One sequential pool round trip per call: submit a no-op, wait for it. */
function roundTripPool(tf: ThreadFlow): () => Promise<void> {
  return async () => {
    const task = await tf.submit({ type: "noop" });
    await tf.wait(task.id);
  };
}

interface FibResult {
  serialMs: number;
  poolMs: number;
}

/** Runs fib(FIB_N) FIB_TASKS times on the main thread, then on the pool. */
async function measureFib(tf: ThreadFlow): Promise<FibResult> {
  const payload = { n: FIB_N };
  // Warm up the same handler code on both sides.
  for (let i = 0; i < 10; i++) fib(payload);
  await Promise.all(
    (await tf.submitBatch(Array.from({ length: WORKERS * 4 }, () => ({ type: "fib", payload }))))
      .map(({ task }) => tf.wait(task.id)),
  );

  let checksum = 0;
  const serialStarted = performance.now();
  for (let i = 0; i < FIB_TASKS; i++) checksum += fib(payload);
  const serialMs = performance.now() - serialStarted;

  const poolStarted = performance.now();
  const submitted = await tf.submitBatch(
    Array.from({ length: FIB_TASKS }, () => ({ type: "fib", payload })),
  );
  const ended = await Promise.all(submitted.map(({ task }) => tf.wait(task.id)));
  const poolMs = performance.now() - poolStarted;
  const poolChecksum = ended.reduce((sum, task) => sum + (task.result as number), 0);
  if (poolChecksum !== checksum) {
    throw new Error(`fib results differ: pool summed ${poolChecksum}, main thread ${checksum}.`);
  }
  return { serialMs, poolMs };
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
  chunkMs: number[];
  firstChunkMs: number;
  lastChunkMs: number;
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
  const submitStarted = performance.now();
  for (let sent = 0; sent < MEMORY_TASKS;) {
    const chunkStarted = performance.now();
    const chunkEnd = Math.min(MEMORY_TASKS, sent + SUBMIT_CHUNK);
    while (sent < chunkEnd) {
      const count = Math.min(SUBMIT_BATCH, chunkEnd - sent);
      await tf.submitBatch(noopInputs(count));
      sent += count;
    }
    chunkMs.push(performance.now() - chunkStarted);
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
    firstChunkMs: chunkMs[0],
    lastChunkMs: chunkMs[chunkMs.length - 1],
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

function median(values: number[]): number {
  return percentile(values, 50);
}

if (import.meta.main && Deno.args[0] === MEMORY_CHILD_FLAG) {
  const result = await measureQueuedMemory();
  console.log(JSON.stringify(result));
  // Closing would cancel a million queued tasks; this process only measures.
  Deno.exit(0);
}
