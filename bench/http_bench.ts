/**
 * HTTP and WebSocket benchmark of the service, in one run:
 * (a) `POST /api/tasks` of `noop` at 64 connections with the memory store
 *     and the default SQLite store, against a bare `Deno.serve` JSON echo:
 *     rate and server CPU per request (the server's process, all threads), and the
 *     floor of the same submit on this platform (`_floor_service.ts`); one
 *     connection's p50 on SQLite; `GET /health` and `GET /api/tasks/:id`
 *     against a bare JSON GET, and for reference a bare GET carrying the
 *     same headers as ThreadFlow's reads (wrk from Debian when present,
 *     else a Deno client in another process);
 * (b) batch submit throughput;
 * (c) one WebSocket client pipelining 256 submits, each answered by its
 *     `task.succeeded`: round trip p50/p99 and tasks/s;
 * (d) fan-out: 100 subscribed clients while 10,000 tasks run; every client
 *     must receive every terminal event;
 * (e) what one open dashboard costs: server CPU per `POST /api/tasks` with
 *     one subscriber of every event (another process), with a frame per
 *     message and with batch frames, against none;
 * (f) what the SQLite store's write thread buys: POSTs alone and with reads
 *     beside them, against the writes in the event loop.
 *
 * Parts (a) and (b) are here; (c) and (d) in `_ws_measure.ts`, (e) in
 * `_dashboard_measure.ts`, (f) in `_write_thread_measure.ts`, the load runs in `_load.ts`, the service they all
 * start in `_http_service.ts`.
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
import { measureSubscriber } from "./_dashboard_measure.ts";
import { measureTaskStatements, TASKS_PER_TRANSACTION } from "./_sqlite_statements.ts";
import { ENGINE_WORKERS, startService, startServiceProcess } from "./_http_service.ts";
import {
  CONNECTIONS,
  hasWrk,
  HTTP_ROUNDS,
  HTTP_SECONDS,
  load,
  type LoadFigures,
  median,
  NOOP_BODY,
} from "./_load.ts";
import { measureFanout, measurePipeline } from "./_ws_measure.ts";
import { measureWriteThread } from "./_write_thread_measure.ts";

const SCALE = benchScale();
/** Which parts to run, e.g. `BENCH_HTTP_PARTS=cd`; default all six. */
const PARTS = new Set((Deno.env.get("BENCH_HTTP_PARTS") ?? "abcdef").split(""));
const BATCH_SIZE = 10_000;
const BATCH_REQUESTS = Math.max(4, Math.round(40 * SCALE));

/** The path on the bare server that answers with ThreadFlow's read headers. */
const WITH_HEADERS = "/with-headers";

/**
 * The bare ceiling: `Deno.serve` answering a JSON POST with its body (201)
 * and a GET with `getBody` as JSON. A GET of {@linkcode WITH_HEADERS} gets
 * the same body with the headers ThreadFlow's reads carry (an `ETag` and a
 * fresh `X-Request-Id`; chunked, as its answers of this size are): what
 * Deno itself spends on those headers, for reference.
 */
async function startBare(
  getBody: () => unknown,
): Promise<{ url: string; close(): Promise<void> }> {
  const listening = Promise.withResolvers<Deno.NetAddr>();
  let requests = 0;
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: (addr) => listening.resolve(addr) },
    async (request) => {
      if (request.method === "POST") return Response.json(await request.json(), { status: 201 });
      if (!request.url.endsWith(WITH_HEADERS)) return Response.json(getBody());
      const json = JSON.stringify(getBody());
      const headers: Record<string, string> = {
        "content-type": "application/json",
        etag: `W/"${json.length.toString(16)}-0123456789abcdef"`,
        "x-request-id": `bare-${++requests}`,
      };
      if (json.length >= 256) headers["transfer-encoding"] = "chunked";
      return new Response(json, { headers });
    },
  );
  const addr = await listening.promise;
  return { url: `http://127.0.0.1:${addr.port}`, close: () => server.shutdown() };
}

/** The disk's `fdatasync` after a small append, p50 of 50 (the floor of a durable commit). */
async function syncFloorMs(dir: string): Promise<number> {
  const file = await Deno.open(`${dir}/sync_probe`, { create: true, write: true, append: true });
  try {
    const samples: number[] = [];
    const bytes = new Uint8Array(4096);
    for (let i = 0; i < 50; i++) {
      await file.write(bytes);
      const started = performance.now();
      await file.syncData();
      samples.push(performance.now() - started);
    }
    return percentile(samples, 50);
  } finally {
    file.close();
  }
}

/** A server the HTTP runs load: bare (in this process) or one in a process of its own. */
interface Target {
  post: boolean;
  /** The path loaded; {@linkcode TASK_PATH} is a task of the server, ended. */
  path: string;
  /** `floor`, `memory` or `sqlite` (a fresh file); none: bare. */
  server?: "floor" | "memory" | "sqlite";
}

/** The path of a `GET` of one ended task of the server under test. */
const TASK_PATH = "/api/tasks/:id";

/** Submits a no-op to the service at `url` and returns the task once it ended. */
async function endedNoop(url: string): Promise<{ id: string }> {
  const created = await fetch(`${url}/api/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: NOOP_BODY,
  });
  const { task } = await created.json();
  const ended = await fetch(`${url}/api/tasks/${task.id}/wait?timeoutMs=10000`);
  return (await ended.json()).task;
}

async function measureHttp(rows: BenchRow[], details: Record<string, unknown>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tf_http_bench_" });
  let sampleTask: unknown = {};
  const bare = await startBare(() => ({ task: sampleTask }));
  let files = 0;
  /**
   * One load run on `target`. Bare runs in this process; every other server
   * starts afresh in a process of its own (a fresh file for SQLite), is
   * warmed up for a second, measured and stopped: its CPU time and heap are
   * its own, and no idle server's garbage collection takes the CPU from it.
   */
  const run = async (target: Target, seconds: number, connections: number) => {
    if (target.server === undefined) {
      return await load(`${bare.url}${target.path}`, seconds, connections, target.post);
    }
    const kind = target.server === "sqlite" ? `sqlite:${dir}/bench-${++files}.db` : target.server;
    const service = await startServiceProcess(kind, ENGINE_WORKERS);
    try {
      let path = target.path;
      if (path === TASK_PATH) path = `/api/tasks/${(await endedNoop(service.url)).id}`;
      const url = `${service.url}${path}`;
      await load(url, 1, connections, target.post, service.pid);
      return await load(url, seconds, connections, target.post, service.pid);
    } finally {
      await service.close();
    }
  };
  try {
    const sample = await startServiceProcess("memory", ENGINE_WORKERS);
    try {
      sampleTask = await endedNoop(sample.url);
    } finally {
      await sample.close();
    }
    const runs = {
      barePost: [] as LoadFigures[],
      floorPost: [] as LoadFigures[],
      memoryPost: [] as LoadFigures[],
      sqlitePost: [] as LoadFigures[],
      bareGet: [] as LoadFigures[],
      bareGetHeaders: [] as LoadFigures[],
      health: [] as LoadFigures[],
      getTask: [] as LoadFigures[],
    };
    const targets: Array<Target & { name: keyof typeof runs }> = [
      { name: "barePost", post: true, path: "" },
      { name: "floorPost", post: true, path: "", server: "floor" },
      { name: "memoryPost", post: true, path: "/api/tasks", server: "memory" },
      { name: "sqlitePost", post: true, path: "/api/tasks", server: "sqlite" },
      { name: "bareGet", post: false, path: "" },
      { name: "bareGetHeaders", post: false, path: WITH_HEADERS },
      { name: "health", post: false, path: "/health", server: "memory" },
      { name: "getTask", post: false, path: TASK_PATH, server: "memory" },
    ];
    for (const target of targets) {
      if (target.server === undefined) await run(target, 1, CONNECTIONS);
    }
    for (let round = 0; round < HTTP_ROUNDS; round++) {
      for (const target of targets) {
        runs[target.name].push(await run(target, HTTP_SECONDS, CONNECTIONS));
      }
    }
    // One connection, default store: each submit waits for its own commit.
    const target = (name: keyof typeof runs) => targets.find((target) => target.name === name)!;
    const bareOne = await run(target("barePost"), HTTP_SECONDS, 1);
    const sqliteOne = await run(target("sqlitePost"), HTTP_SECONDS, 1);
    const syncMs = await syncFloorMs(dir);
    const statements = measureTaskStatements(dir, Math.max(2_000, Math.round(20_000 * SCALE)));
    const best = (name: keyof typeof runs) => Math.max(...runs[name].map((run) => run.rps));
    const cpu = (name: keyof typeof runs) => median(runs[name].map((run) => run.cpuUsPerRequest));
    /**
     * `name`'s figure over `base`'s in each round (the two ran minutes apart
     * at most, so a drift of the machine between rounds cancels out): the
     * median of those ratios, and their range in words.
     */
    const perRound = (
      name: keyof typeof runs,
      base: keyof typeof runs,
      figure: (run: LoadFigures) => number,
    ) => {
      const ratios = runs[name].map((run, round) => figure(run) / figure(runs[base][round]));
      const low = Math.min(...ratios).toFixed(2);
      const high = Math.max(...ratios).toFixed(2);
      return { ratio: median(ratios), rounds: `rounds ${low}–${high}` };
    };
    const rate = (name: keyof typeof runs, base: keyof typeof runs) =>
      perRound(name, base, (run) => run.rps);
    const cpuRatio = (name: keyof typeof runs, base: keyof typeof runs = "barePost") =>
      perRound(name, base, (run) => run.cpuUsPerRequest);
    const errors = (name: keyof typeof runs) =>
      runs[name].reduce((sum, run) => sum + run.errors, 0);
    details.http = {
      loadGenerator: (await hasWrk()) ? "wrk -t1 -c64" : "Deno fetch x64 (another process)",
      secondsPerRun: HTTP_SECONDS,
      loadAverage: Deno.loadavg()[0],
      runs,
      oneConnection: { bare: bareOne, sqlite: sqliteOne },
      fdatasyncP50Ms: syncMs,
      sqliteStatements: statements,
    };
    const barePostRps = best("barePost");
    const barePostCpu = cpu("barePost");
    const floorRate = rate("floorPost", "barePost");
    const floorCpu = cpuRatio("floorPost");
    rows.push(
      {
        name: "(a) bare Deno.serve POST, 64 connections",
        value: barePostRps,
        unit: "req/s",
      },
      { name: "(a) bare Deno.serve POST, CPU per request", value: barePostCpu, unit: "µs" },
      {
        name: "(a) floor: Deno.serve, task kept and run on a worker, same 201 (reference)",
        value: best("floorPost"),
        unit: "req/s",
        baseline: `bare ${Math.round(barePostRps)} req/s; ${floorRate.rounds}`,
        ratio: floorRate.ratio,
      },
      {
        name: "(a) floor, CPU per request (reference)",
        value: cpu("floorPost"),
        unit: "µs",
        baseline: `bare ${barePostCpu.toFixed(1)} µs; ${floorCpu.rounds}`,
        ratio: floorCpu.ratio,
      },
      {
        name:
          `(a) SQLite write side per task: insert and end, ${TASKS_PER_TRANSACTION} a transaction (reference)`,
        value: statements.insertUs + statements.endUs,
        unit: "µs",
        baseline: `insert ${statements.insertUs.toFixed(1)} µs, end ${
          statements.endUs.toFixed(1)
        } µs`,
        ratio: (statements.insertUs + statements.endUs) / barePostCpu,
      },
      {
        name: "(a) SQLite floor: the floor's CPU plus the write side's (reference, a sum)",
        value: cpu("floorPost") + statements.insertUs + statements.endUs,
        unit: "µs",
        baseline: `bare ${barePostCpu.toFixed(1)} µs`,
        ratio: (cpu("floorPost") + statements.insertUs + statements.endUs) / barePostCpu,
      },
    );
    for (
      const [name, label, rateGoal, cpuGoal] of [
        ["memoryPost", "memory store", 0.35, 2.5],
        ["sqlitePost", "default SQLite store", 0.25, 4],
      ] as const
    ) {
      const rates = rate(name, "barePost");
      const cpus = cpuRatio(name);
      rows.push(
        {
          name: `(a) POST /api/tasks noop, ${label}, 64 connections`,
          value: best(name),
          unit: "req/s",
          baseline: `bare ${Math.round(barePostRps)} req/s; ${rates.rounds}; ${
            rate(name, "floorPost").ratio.toFixed(2)
          } of the floor`,
          ratio: rates.ratio,
          goal: `ratio ≥ ${rateGoal}, no errors`,
          ok: rates.ratio >= rateGoal && errors(name) === 0,
        },
        {
          name: `(a) POST /api/tasks noop, ${label}, CPU per request`,
          value: cpu(name),
          unit: "µs",
          baseline: `bare ${barePostCpu.toFixed(1)} µs; ${cpus.rounds}; ${
            cpuRatio(name, "floorPost").ratio.toFixed(2)
          }x the floor`,
          ratio: cpus.ratio,
          goal: `ratio ≤ ${cpuGoal}`,
          ok: cpus.ratio <= cpuGoal,
        },
      );
    }
    rows.push({
      name: "(a) POST /api/tasks noop, default SQLite store, 1 connection, p50",
      value: sqliteOne.p50Ms,
      unit: "ms",
      baseline: `bare ${bareOne.p50Ms.toFixed(3)} ms; disk fdatasync p50 ${syncMs.toFixed(3)} ms`,
      goal: "≤ 1 ms",
      ok: sqliteOne.p50Ms <= 1 && sqliteOne.errors === 0,
    });
    const bareGetRps = best("bareGet");
    const headers = rate("bareGetHeaders", "bareGet");
    rows.push({
      name: "(a) bare Deno.serve GET with ETag and X-Request-Id (reference)",
      value: best("bareGetHeaders"),
      unit: "req/s",
      baseline: `bare GET ${Math.round(bareGetRps)} req/s; ${headers.rounds}`,
      ratio: headers.ratio,
    });
    for (
      const [name, label] of [["health", "GET /health"], ["getTask", "GET /api/tasks/:id"]] as const
    ) {
      const { ratio, rounds } = rate(name, "bareGet");
      rows.push({
        name: `(a) ${label}, 64 connections`,
        value: best(name),
        unit: "req/s",
        baseline: `bare GET ${Math.round(bareGetRps)} req/s; ${rounds}; with the headers ${
          rate(name, "bareGetHeaders").ratio.toFixed(2)
        }`,
        ratio,
        goal: "ratio ≥ 0.8, no errors",
        ok: ratio >= 0.8 && errors(name) === 0,
      });
    }
  } finally {
    await bare.close();
    await Deno.remove(dir, { recursive: true });
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
  if (PARTS.has("e")) await measureSubscriber(rows, details);
  if (PARTS.has("f")) await measureWriteThread(rows, details);
  return { title: "HTTP and WebSocket", rows, details };
}

if (import.meta.main) {
  const section = await run();
  printSection(section);
  console.table(section.rows);
  console.log(JSON.stringify(section.details, null, 2));
}
