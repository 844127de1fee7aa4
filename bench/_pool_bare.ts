/**
 * The pool benchmark's ceiling: plain module workers ({@link ./_bare_worker.ts})
 * answering no-op and fib tasks over bare `postMessage`, with no queue, store
 * or events around them. Throughput, single round trips and fib batches.
 *
 * @module
 */

import type { BareResult, BareTask } from "./_bare_worker.ts";
import { FIB_N, type Throughput, timeTasks } from "./_pool_measure.ts";

/**
 * Starts `count` bare workers and makes one round trip with each, so module
 * loading is never timed.
 *
 * @example
 * ```ts
 * import { startBareWorkers } from "./_pool_bare.ts";
 * const workers = await startBareWorkers(2);
 * for (const worker of workers) worker.terminate();
 * ```
 */
export async function startBareWorkers(count: number): Promise<Worker[]> {
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

/** Options for {@linkcode bareThroughput}; all required. */
export interface BareThroughputOptions {
  /** No-op tasks to push through, in all. */
  tasks: number;
  /** Tasks per message; 1 sends a task alone, more send an array. */
  tasksPerMessage: number;
  /** Messages each worker keeps outstanding. */
  messagesInFlight: number;
}

/**
 * Pushes `tasks` no-op tasks through the workers, each worker keeping
 * `messagesInFlight` messages outstanding. Task ids are made before the clock
 * starts: the ceiling is the transport.
 *
 * @example
 * ```ts
 * import { bareThroughput, startBareWorkers } from "./_pool_bare.ts";
 * const workers = await startBareWorkers(2);
 * const run = await bareThroughput(workers, {
 *   tasks: 10_000,
 *   tasksPerMessage: 1,
 *   messagesInFlight: 1,
 * });
 * for (const worker of workers) worker.terminate();
 * console.log(run.perSecond);
 * ```
 */
export async function bareThroughput(
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

/**
 * One sequential bare round trip per call, cycling through the workers.
 *
 * @example
 * ```ts
 * import { roundTripBare, startBareWorkers } from "./_pool_bare.ts";
 * const workers = await startBareWorkers(2);
 * await roundTripBare(workers)();
 * for (const worker of workers) worker.terminate();
 * ```
 */
export function roundTripBare(workers: Worker[]): () => Promise<void> {
  let next = 0;
  return async () => {
    const worker = workers[next];
    next = (next + 1) % workers.length;
    await postAndReceive(worker, bareTask(crypto.randomUUID()));
  };
}

/**
 * Runs `count` fib tasks on the bare workers, one at a time per worker; returns ms.
 *
 * @example
 * ```ts
 * import { bareFib, startBareWorkers } from "./_pool_bare.ts";
 * const workers = await startBareWorkers(2);
 * console.log(await bareFib(workers, 10));
 * for (const worker of workers) worker.terminate();
 * ```
 */
export async function bareFib(workers: Worker[], count: number): Promise<number> {
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
