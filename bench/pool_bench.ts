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

import { type BenchRow, type BenchSection, percentile } from "./_report.ts";
import type { BareResult, BareTask } from "./_bare_worker.ts";

/** Multiplies every task count; `BENCH_SCALE=0.1` gives a quick run. */
const SCALE = readScale();
const WORKERS = navigator.hardwareConcurrency;
const THROUGHPUT_TASKS = scaled(200_000);
const LATENCY_TASKS = scaled(10_000);
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
  try {
    // Warm both paths up so the JIT and the worker threads are hot.
    await bareThroughput(bare, { tasks: 20_000, tasksPerMessage: 1, messagesInFlight: 1 });
    await bareThroughput(bare, {
      tasks: 100_000,
      tasksPerMessage: BARE_TASKS_PER_MESSAGE,
      messagesInFlight: BARE_MESSAGES_IN_FLIGHT,
    });

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
    for (let i = 0; i < 3; i++) {
      batchedRuns.push(
        await bareThroughput(bare, {
          tasks: THROUGHPUT_TASKS,
          tasksPerMessage: BARE_TASKS_PER_MESSAGE,
          messagesInFlight: BARE_MESSAGES_IN_FLIGHT,
        }),
      );
    }
    const batched = median(batchedRuns);
    details.bareBatchedRuns = batchedRuns;
    rows.push(
      { name: "(a) bare, 1 task/msg, 1 msg in flight/worker", value: pingPong, unit: "tasks/s" },
      {
        name: `(a) bare, 1 task/msg, ${BARE_MESSAGES_IN_FLIGHT} msgs in flight/worker`,
        value: pipelined,
        unit: "tasks/s",
      },
      {
        name: `(a) bare, ≤${BARE_TASKS_PER_MESSAGE} tasks/msg (ceiling, median of 3)`,
        value: batched,
        unit: "tasks/s",
      },
    );

    const bareLatency = await sampleRoundTrips(roundTripBare(bare), LATENCY_TASKS);
    rows.push(
      { name: "(b) bare round trip p50", value: percentile(bareLatency, 50), unit: "ms" },
      { name: "(b) bare round trip p99", value: percentile(bareLatency, 99), unit: "ms" },
    );
  } finally {
    for (const worker of bare) worker.terminate();
  }

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
// Helpers

/** Times `count` sequential calls of `roundTrip`, in milliseconds each. */
async function sampleRoundTrips(
  roundTrip: () => Promise<void>,
  count: number,
): Promise<Float64Array> {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await roundTrip();
    samples[i] = performance.now() - started;
  }
  return samples;
}

function median(values: number[]): number {
  return percentile(values, 50);
}
