/**
 * The HTTP benchmark's WebSocket parts, each with its load in a module worker
 * (`_ws_load_worker.ts`) so the clients do not share the server's thread:
 * (c) one client pipelining submits, each answered by its `task.succeeded`,
 * with a frame per message and with `?batch=1`; (d) fan-out to 100
 * subscribed clients, every one of which must see every terminal event.
 *
 * @module
 */

import { type BenchRow, benchScale, formatValue, percentile } from "./_report.ts";
import { ENGINE_WORKERS, startService } from "./_http_service.ts";
import type { FanoutResult, PipelineResult } from "./_ws_load_worker.ts";

const SCALE = benchScale();
const PIPELINE_TASKS = Math.max(2_000, Math.round(50_000 * SCALE));
const PIPELINE_WINDOW = 256;
const FANOUT_CLIENTS = 100;
const FANOUT_TASKS = 10_000;
/** How long fan-out clients may keep reading after the last task ended. */
const FANOUT_GRACE_MS = 120_000;

function runLoadWorker<T>(
  request: Record<string, unknown>,
  onReady?: () => void,
  stopAfter?: Promise<unknown>,
): Promise<T> {
  const worker = new Worker(new URL("./_ws_load_worker.ts", import.meta.url), { type: "module" });
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  worker.onmessage = (event) => {
    if (event.data.ready) onReady?.();
    else if (event.data.error) reject(new Error(event.data.error));
    else resolve(event.data.result);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    reject(new Error(event.message));
  };
  stopAfter?.then(() => worker.postMessage({ stop: true }));
  worker.postMessage(request);
  return promise.finally(() => worker.terminate());
}

/**
 * (c) Pipelined submits on one socket: tasks/s and round trips, plain and batched.
 *
 * @example
 * ```ts ignore
 * const rows: BenchRow[] = [];
 * await measurePipeline(rows, {});
 * ```
 */
export async function measurePipeline(
  rows: BenchRow[],
  details: Record<string, unknown>,
): Promise<void> {
  const service = await startService(ENGINE_WORKERS);
  try {
    const url = service.ws;
    await runLoadWorker<PipelineResult>({ mode: "pipeline", url, total: 2_000, window: 256 });
    const pipeline = (target: string) =>
      runLoadWorker<PipelineResult>({
        mode: "pipeline",
        url: target,
        total: PIPELINE_TASKS,
        window: PIPELINE_WINDOW,
      });
    const result = await pipeline(url);
    // The same client with ?batch=1: a turn's acks and events come as one frame each way.
    const batched = await pipeline(`${url}?batch=1`);
    const tasksPerSecond = result.tasks / result.seconds;
    const batchedPerSecond = batched.tasks / batched.seconds;
    const p50 = percentile(result.roundTrips, 50);
    const p99 = percentile(result.roundTrips, 99);
    details.pipeline = {
      tasks: result.tasks,
      window: PIPELINE_WINDOW,
      seconds: result.seconds,
      batchedSeconds: batched.seconds,
    };
    rows.push(
      {
        name: `(c) WS submit → task.succeeded, 1 client, ${PIPELINE_WINDOW} in flight`,
        value: tasksPerSecond,
        unit: "tasks/s",
        goal: "≥ 50,000 tasks/s",
        ok: tasksPerSecond >= 50_000,
      },
      { name: "(c) WS round trip p50", value: p50, unit: "ms" },
      { name: "(c) WS round trip p99", value: p99, unit: "ms" },
      {
        name:
          `(c) WS submit → task.succeeded, ?batch=1 (batch frames), ${PIPELINE_WINDOW} in flight`,
        value: batchedPerSecond,
        unit: "tasks/s",
        baseline: `frame per message ${formatValue(tasksPerSecond)}/s`,
        ratio: batchedPerSecond / tasksPerSecond,
        goal: "≥ 50,000 tasks/s",
        ok: batchedPerSecond >= 50_000,
      },
      {
        name: "(c) WS round trip p50, ?batch=1",
        value: percentile(batched.roundTrips, 50),
        unit: "ms",
      },
    );
  } finally {
    await service.close();
  }
}

/**
 * (d) Fan-out: terminal events lost by any of the subscribed clients (must be 0).
 *
 * @example
 * ```ts ignore
 * const rows: BenchRow[] = [];
 * await measureFanout(rows, {});
 * ```
 */
export async function measureFanout(
  rows: BenchRow[],
  details: Record<string, unknown>,
): Promise<void> {
  const service = await startService(ENGINE_WORKERS);
  try {
    const url = service.ws;
    const allEnded = Promise.withResolvers<void>();
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const ready = Promise.withResolvers<void>();
    const resultPromise = runLoadWorker<FanoutResult>(
      { mode: "fanout", url, clients: FANOUT_CLIENTS, expected: FANOUT_TASKS },
      () => ready.resolve(),
      // Clients may still be reading when the last task ends; give them a generous while.
      allEnded.promise.then(() =>
        new Promise((resolve) => graceTimer = setTimeout(resolve, FANOUT_GRACE_MS))
      ),
    );
    await ready.promise;
    const results = await service.engine.submitBatch(
      Array.from({ length: FANOUT_TASKS }, (_, i) => ({ type: "noop", payload: i })),
    );
    Promise.all(results.map((r) => service.engine.wait(r.id))).then(() => allEnded.resolve());
    const result = await resultPromise;
    clearTimeout(graceTimer);
    const received = result.terminalPerClient.reduce((sum, n) => sum + n, 0);
    const lost = FANOUT_CLIENTS * FANOUT_TASKS - received;
    details.fanout = {
      clients: result.clients,
      tasks: FANOUT_TASKS,
      eventsDelivered: result.totalEvents,
      seconds: result.seconds,
      slowClosed: service.app.hub.figures().closedSlow,
    };
    rows.push(
      {
        name:
          `(d) fan-out: ${FANOUT_CLIENTS} clients x ${FANOUT_TASKS} tasks, lost terminal events`,
        value: lost,
        unit: "events",
        goal: "0",
        ok: lost === 0,
      },
      {
        name: "(d) fan-out events delivered",
        value: result.totalEvents / result.seconds,
        unit: "events/s",
      },
    );
  } finally {
    await service.close();
  }
}
