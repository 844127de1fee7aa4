/**
 * The HTTP benchmark's part (f): what the SQLite store's write thread buys.
 * The same service on the SQLite store with its writes on their own thread
 * (the default) and in the event loop (`writeThread: false`, the baseline):
 * `POST /api/tasks` of no-ops at 64 connections alone (rate, and the main
 * thread's CPU per request), then with `GET /health` from 8 more
 * connections at the same time (both rates, and the GETs' p50); and
 * `GET /health` while one client submits batches of 10,000 tasks (its
 * rate and p99).
 *
 * @module
 */

import { SqliteStore } from "../engine/store/sqlite/sqlite_store.ts";
import type { BenchRow } from "./_report.ts";
import { ENGINE_WORKERS, startService } from "./_http_service.ts";
import {
  benchScript,
  CONNECTIONS,
  HTTP_ROUNDS,
  HTTP_SECONDS,
  load,
  type LoadFigures,
  median,
} from "./_load.ts";
import { mainThreadCpuMs } from "./_pool_measure.ts";

/** Connections that read `GET /health` while the POSTs run. */
const READERS = 8;
/** Tasks per batch submit in the batch run. */
const BATCH_SIZE = 10_000;

/** One mode's figures over the rounds. */
interface ModeRuns {
  alone: LoadFigures[];
  /** The main thread's CPU per POST, in µs, in each run alone. */
  mainUs: number[];
  mixedPost: LoadFigures[];
  mixedGet: LoadFigures[];
  /** `GET /health` while batches are submitted, and how many batches went in meanwhile. */
  batchGet: LoadFigures[];
  batches: number[];
}

/**
 * (f) The SQLite store's writes on their own thread against in the event
 * loop: POSTs alone, then POSTs and reads together.
 */
export async function measureWriteThread(
  rows: BenchRow[],
  details: Record<string, unknown>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tf_write_thread_bench_" });
  const modes = { thread: true, eventLoop: false } as const;
  const runs: Record<keyof typeof modes, ModeRuns> = {
    thread: { alone: [], mainUs: [], mixedPost: [], mixedGet: [], batchGet: [], batches: [] },
    eventLoop: { alone: [], mainUs: [], mixedPost: [], mixedGet: [], batchGet: [], batches: [] },
  };
  try {
    for (let round = 0; round < HTTP_ROUNDS; round++) {
      for (const [mode, writeThread] of Object.entries(modes) as [keyof typeof modes, boolean][]) {
        // A fresh file each time: a file grown by the runs before would cost later ones more.
        const path = `${dir}/${mode}-${round}.db`;
        const service = await startService(ENGINE_WORKERS, new SqliteStore(path, { writeThread }));
        try {
          const posts = `${service.url}/api/tasks`;
          await load(posts, 1, CONNECTIONS, true);
          const mainBefore = mainThreadCpuMs() ?? NaN;
          const alone = await load(posts, HTTP_SECONDS, CONNECTIONS, true);
          const mainMs = (mainThreadCpuMs() ?? NaN) - mainBefore;
          runs[mode].alone.push(alone);
          runs[mode].mainUs.push((mainMs * 1000) / Math.max(1, alone.requests));
          const [mixedPost, mixedGet] = await Promise.all([
            load(posts, HTTP_SECONDS, CONNECTIONS, true),
            load(`${service.url}/health`, HTTP_SECONDS, READERS, false),
          ]);
          runs[mode].mixedPost.push(mixedPost);
          runs[mode].mixedGet.push(mixedGet);
          const { batchGet, batches } = await readsDuringBatches(service.url);
          runs[mode].batchGet.push(batchGet);
          runs[mode].batches.push(batches);
        } finally {
          await service.close();
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  details.writeThread = { readers: READERS, runs };
  const best = (figures: LoadFigures[]) => Math.max(...figures.map((run) => run.rps));
  const p50 = (figures: LoadFigures[]) => median(figures.map((run) => run.p50Ms));
  const p99 = (figures: LoadFigures[]) => median(figures.map((run) => run.p99Ms));
  const { thread, eventLoop } = runs;
  rows.push(
    {
      name: "(f) POST noop, SQLite, 64 connections, write thread",
      value: best(thread.alone),
      unit: "req/s",
      baseline: `writes in the event loop ${Math.round(best(eventLoop.alone))} req/s`,
      ratio: best(thread.alone) / best(eventLoop.alone),
    },
    {
      name: "(f) POST noop, SQLite, main thread's CPU per request, write thread",
      value: median(thread.mainUs),
      unit: "µs",
      baseline: `writes in the event loop ${median(eventLoop.mainUs).toFixed(1)} µs`,
      ratio: median(thread.mainUs) / median(eventLoop.mainUs),
    },
    {
      name: `(f) GET /health (${READERS} connections) during those POSTs, write thread`,
      value: best(thread.mixedGet),
      unit: "req/s",
      baseline: `writes in the event loop ${Math.round(best(eventLoop.mixedGet))} req/s; p50 ${
        p50(thread.mixedGet).toFixed(3)
      } against ${p50(eventLoop.mixedGet).toFixed(3)} ms`,
      ratio: best(thread.mixedGet) / best(eventLoop.mixedGet),
    },
    {
      name: `(f) GET /health p99 while batches of ${BATCH_SIZE} are submitted, write thread`,
      value: p99(thread.batchGet),
      unit: "ms",
      baseline: `writes in the event loop ${p99(eventLoop.batchGet).toFixed(1)} ms; ${
        Math.round(best(thread.batchGet))
      } against ${Math.round(best(eventLoop.batchGet))} req/s`,
      ratio: p99(thread.batchGet) / p99(eventLoop.batchGet),
    },
    {
      name: "(f) POST noop during those GETs, write thread",
      value: best(thread.mixedPost),
      unit: "req/s",
      baseline: `writes in the event loop ${Math.round(best(eventLoop.mixedPost))} req/s`,
      ratio: best(thread.mixedPost) / best(eventLoop.mixedPost),
    },
  );
}

/**
 * `GET /health` from {@linkcode READERS} connections while one client in
 * another process (`_batch_client.ts`) submits batches.
 */
async function readsDuringBatches(
  url: string,
): Promise<{ batchGet: LoadFigures; batches: number }> {
  const client = benchScript("./_batch_client.ts", [url, String(BATCH_SIZE)], "piped").spawn();
  let batchGet: LoadFigures | undefined;
  try {
    batchGet = await load(`${url}/health`, HTTP_SECONDS, READERS, false);
  } finally {
    await client.stdin.close();
  }
  const output = await client.output();
  if (!output.success) throw new Error("The batch client failed.");
  return { batchGet, batches: Number(new TextDecoder().decode(output.stdout).trim()) };
}
