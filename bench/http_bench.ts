/**
 * HTTP and WebSocket benchmark of the service, in one run:
 * (a) `POST /api/tasks` of `noop` at 64 connections against a bare
 *     `Deno.serve` JSON echo (wrk from Debian when present, else a Deno client);
 * (b) batch submit throughput;
 * (c) one WebSocket client pipelining 256 submits, each answered by its
 *     `task.succeeded`: round trip p50/p99 and tasks/s;
 * (d) fan-out: 100 subscribed clients while 10,000 tasks run; every client
 *     must receive every terminal event.
 *
 * ```sh
 * deno run -A bench/http_bench.ts        # this section alone
 * deno task bench http
 * BENCH_SCALE=0.2 deno task bench http   # shorter
 * BENCH_HTTP_PARTS=cd deno run -A bench/http_bench.ts   # only (c) and (d)
 * BENCH_ENGINE_WORKERS=1 deno run -A bench/http_bench.ts # engine workers (default: one per CPU)
 * ```
 *
 * @module
 */

import {
  type BenchRow,
  benchScale,
  type BenchSection,
  percentile,
  printSection,
} from "./_report.ts";
import type { FanoutResult, PipelineResult } from "./_ws_load_worker.ts";
import { ThreadFlow } from "../mod.ts";
import { createApp, type ThreadFlowApp } from "../server/app.ts";
import { parseConfig } from "../server/config.ts";
import { silentLogger } from "../server/logger.ts";

const SCALE = benchScale();
/** Which parts to run, e.g. `BENCH_HTTP_PARTS=cd`; default all four. */
const PARTS = new Set((Deno.env.get("BENCH_HTTP_PARTS") ?? "abcd").split(""));
const WRK = "/usr/bin/wrk";
const CONNECTIONS = 64;
/** Engine workers: the service's default (one per CPU) unless `BENCH_ENGINE_WORKERS` says otherwise. */
const ENGINE_WORKERS = Number(
  Deno.env.get("BENCH_ENGINE_WORKERS") ?? navigator.hardwareConcurrency,
);
const HTTP_SECONDS = Math.max(2, Math.round(5 * SCALE));
const BATCH_SIZE = 10_000;
const BATCH_REQUESTS = Math.max(4, Math.round(40 * SCALE));
const PIPELINE_TASKS = Math.max(2_000, Math.round(50_000 * SCALE));
const PIPELINE_WINDOW = 256;
const FANOUT_CLIENTS = 100;
const FANOUT_TASKS = 10_000;
/** How long fan-out clients may keep reading after the last task ended. */
const FANOUT_GRACE_MS = 120_000;

/** A service on an ephemeral port for the benchmark. */
interface BenchService {
  url: string;
  engine: ThreadFlow;
  app: ThreadFlowApp;
  close(): Promise<void>;
}

async function startService(workers: number): Promise<BenchService> {
  const parsed = parseConfig(["--port", "0", "--max-body", "16MiB"], {});
  if (parsed.help) throw new Error("unreachable");
  const engine = await ThreadFlow.start({ workers, maxQueued: 10_000_000 });
  const app = createApp({ engine, config: parsed.config, logger: silentLogger() });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: (addr) => listening.resolve(addr) },
    app.fetch,
  );
  const addr = await listening.promise;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    engine,
    app,
    async close() {
      app.drain();
      app.closeWebSockets();
      await server.shutdown();
      await engine.close({ drainMs: 0 });
    },
  };
}

async function startBareEcho(): Promise<{ url: string; close(): Promise<void> }> {
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: (addr) => listening.resolve(addr) },
    async (request) => Response.json(await request.json(), { status: 201 }),
  );
  const addr = await listening.promise;
  return { url: `http://127.0.0.1:${addr.port}`, close: () => server.shutdown() };
}

async function hasWrk(): Promise<boolean> {
  try {
    return (await Deno.stat(WRK)).isFile;
  } catch {
    return false;
  }
}

/** Requests per second of `POST url` with a noop task body, and the share answered 2xx. */
async function postLoad(url: string, seconds: number): Promise<{ rps: number; errors: number }> {
  const body = JSON.stringify({ type: "noop", payload: { n: 1 } });
  if (await hasWrk()) {
    const script = await Deno.makeTempFile({ suffix: ".lua" });
    await Deno.writeTextFile(
      script,
      `wrk.method = "POST"\nwrk.body = '${body}'\n` +
        `wrk.headers["Content-Type"] = "application/json"\n`,
    );
    try {
      const output = await new Deno.Command(WRK, {
        args: ["-t", "2", "-c", String(CONNECTIONS), "-d", `${seconds}s`, "-s", script, url],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(output.stdout);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
      const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
      if (!Number.isFinite(rps)) throw new Error(`wrk gave no result:\n${text}`);
      return { rps, errors };
    } finally {
      await Deno.remove(script);
    }
  }
  // Without wrk: a Deno client on the same machine (it shares the CPU, so numbers are lower).
  let count = 0;
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < deadline) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      await response.arrayBuffer();
      if (response.ok) count++;
      else errors++;
    }
  }));
  return { rps: count / seconds, errors };
}

/** Rounds of bare then service load; the best of each counts, since the machine may be shared. */
const HTTP_ROUNDS = 3;

async function measureHttp(rows: BenchRow[], details: Record<string, unknown>): Promise<void> {
  const bare = await startBareEcho();
  const service = await startService(ENGINE_WORKERS);
  const serviceUrl = `${service.url}/api/tasks`;
  try {
    await postLoad(bare.url, 1);
    await postLoad(serviceUrl, 1);
    const bareRuns: number[] = [];
    const serviceRuns: number[] = [];
    let errors = 0;
    for (let round = 0; round < HTTP_ROUNDS; round++) {
      bareRuns.push((await postLoad(bare.url, HTTP_SECONDS)).rps);
      const result = await postLoad(serviceUrl, HTTP_SECONDS);
      serviceRuns.push(result.rps);
      errors += result.errors;
    }
    const bareBest = Math.max(...bareRuns);
    const serviceBest = Math.max(...serviceRuns);
    const ratio = serviceBest / bareBest;
    details.http = {
      loadGenerator: (await hasWrk()) ? "wrk -t2 -c64" : "Deno fetch x64",
      secondsPerRun: HTTP_SECONDS,
      bareRuns,
      serviceRuns,
      serviceErrors: errors,
    };
    rows.push({
      name: "(a) POST /api/tasks noop, 64 connections",
      value: serviceBest,
      unit: "req/s",
      baseline: `bare Deno.serve JSON echo ${Math.round(bareBest)} req/s`,
      ratio,
      goal: "ratio ≥ 0.70, no errors",
      ok: ratio >= 0.7 && errors === 0,
    });
  } finally {
    await bare.close();
    await service.close();
  }
}

async function measureBatch(rows: BenchRow[], details: Record<string, unknown>): Promise<void> {
  const service = await startService(ENGINE_WORKERS);
  try {
    const body = JSON.stringify({
      tasks: Array.from({ length: BATCH_SIZE }, (_, i) => ({ type: "noop", payload: i })),
    });
    const post = async () => {
      const response = await fetch(`${service.url}/api/tasks/batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      await response.arrayBuffer();
      if (response.status !== 201) throw new Error(`Batch submit answered ${response.status}.`);
    };
    await post();
    const started = performance.now();
    // Two requests in flight: one is parsed while the other's answer is written.
    for (let i = 0; i < BATCH_REQUESTS; i += 2) {
      await Promise.all([post(), ...(i + 1 < BATCH_REQUESTS ? [post()] : [])]);
    }
    const seconds = (performance.now() - started) / 1000;
    const tasksPerSecond = (BATCH_REQUESTS * BATCH_SIZE) / seconds;
    details.batch = { requests: BATCH_REQUESTS, tasksPerRequest: BATCH_SIZE, seconds };
    rows.push({
      name: `(b) POST /api/tasks/batch, ${BATCH_SIZE} tasks per request`,
      value: tasksPerSecond,
      unit: "tasks/s",
      goal: "≥ 50,000 tasks/s",
      ok: tasksPerSecond >= 50_000,
    });
  } finally {
    await service.close();
  }
}

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

async function measurePipeline(rows: BenchRow[], details: Record<string, unknown>): Promise<void> {
  const service = await startService(ENGINE_WORKERS);
  try {
    const url = `${service.url.replace("http", "ws")}/ws`;
    await runLoadWorker<PipelineResult>({ mode: "pipeline", url, total: 2_000, window: 256 });
    const result = await runLoadWorker<PipelineResult>({
      mode: "pipeline",
      url,
      total: PIPELINE_TASKS,
      window: PIPELINE_WINDOW,
    });
    const tasksPerSecond = result.tasks / result.seconds;
    const p50 = percentile(result.roundTrips, 50);
    const p99 = percentile(result.roundTrips, 99);
    details.pipeline = { tasks: result.tasks, window: PIPELINE_WINDOW, seconds: result.seconds };
    rows.push(
      {
        name: `(c) WS submit → task.succeeded, 1 client, ${PIPELINE_WINDOW} in flight`,
        value: tasksPerSecond,
        unit: "tasks/s",
        goal: "≥ 25,000 tasks/s",
        ok: tasksPerSecond >= 25_000,
      },
      { name: "(c) WS round trip p50", value: p50, unit: "ms" },
      { name: "(c) WS round trip p99", value: p99, unit: "ms" },
    );
  } finally {
    await service.close();
  }
}

async function measureFanout(rows: BenchRow[], details: Record<string, unknown>): Promise<void> {
  const service = await startService(ENGINE_WORKERS);
  try {
    const url = `${service.url.replace("http", "ws")}/ws`;
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

/**
 * Runs the HTTP section and returns its rows.
 *
 * @example
 * ```ts ignore
 * import { run } from "./http_bench.ts";
 * const section = await run();
 * console.log(section.rows.length);
 * ```
 */
export async function run(): Promise<BenchSection> {
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = { scale: SCALE, engineWorkers: ENGINE_WORKERS };
  if (PARTS.has("a")) await measureHttp(rows, details);
  if (PARTS.has("b")) await measureBatch(rows, details);
  if (PARTS.has("c")) await measurePipeline(rows, details);
  if (PARTS.has("d")) await measureFanout(rows, details);
  return { title: "HTTP and WebSocket", rows, details };
}

if (import.meta.main) {
  const section = await run();
  printSection(section);
  console.table(section.rows);
  console.log(JSON.stringify(section.details, null, 2));
}
