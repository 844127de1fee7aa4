/**
 * Store benchmark: durable submit throughput, single and batched, for SQLite
 * and PostgreSQL next to the memory store in the same run; and the store-level
 * claim → complete throughput of 1 and 2 "nodes" (store objects) on PostgreSQL.
 *
 * ```sh
 * deno run -A bench/store_bench.ts   # this section alone
 * deno task bench store              # through the runner (writes bench/results/)
 * BENCH_SCALE=0.1 deno task bench store   # a quick pass
 * ```
 *
 * Every insert is acknowledged after COMMIT (SQLite `synchronous=FULL`: the
 * WAL is fsynced), so these are durable figures.
 *
 * @module
 */

import { join } from "node:path";
import postgres from "postgres";
import type { Task } from "../engine/model/task.ts";
import type { TaskStore } from "../engine/store/store.ts";
import { MemoryStore } from "../engine/store/memory_store.ts";
import { SqliteStore } from "../engine/store/sqlite/sqlite_store.ts";
import { PostgresStore } from "../engine/store/postgres/postgres_store.ts";
import { ThreadFlow } from "../engine/facade/thread_flow.ts";
import { type BenchRow, benchScale, type BenchSection, printSection } from "./_report.ts";
import { pgReachable } from "../tests/store/_postgres.ts";
import { makeTask } from "../tests/store/conformance.ts";

const PG_URL = Deno.env.get("THREADFLOW_BENCH_PG") ?? "postgres://postgres@127.0.0.1:5432/test";
const SQLITE_BATCHED_GOAL = 30_000;
const PG_CLAIM_GOAL = 5_000;

/** Sizes of one run; the defaults take about half a minute (times `BENCH_SCALE`). */
export interface StoreBenchOptions {
  /** Sequential one-task inserts (each waits for its COMMIT). Default 1,000. */
  sequential?: number;
  /** One-task inserts issued at once (group commit). Default 20,000. */
  concurrent?: number;
  /** Tasks inserted in batches. Default 100,000. */
  batched?: number;
  /** Tasks per insert() call when batched. Default 1,000. */
  batchSize?: number;
  /** Tasks claimed and completed per node count. Default 20,000. */
  claimed?: number;
}

/** A queued `noop` task of random priority. */
function benchTask(): Task {
  return makeTask({ priority: 1 + Math.floor(Math.random() * 10) });
}

async function perSecond(count: number, fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return count / ((performance.now() - started) / 1000);
}

interface InsertFigures {
  sequential: number;
  concurrent: number;
  batched: number;
  /** Transitions written (`write()`, batched like the inserts), per second. */
  writes: number;
}

/** The three submit patterns against one store, then transitions of the batched tasks. */
async function measureInserts(
  store: TaskStore,
  options: Required<StoreBenchOptions>,
): Promise<InsertFigures> {
  const sequential = await perSecond(options.sequential, async () => {
    for (let i = 0; i < options.sequential; i++) await store.insert([benchTask()]);
  });
  const concurrent = await perSecond(options.concurrent, async () => {
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < options.concurrent; i++) calls.push(store.insert([benchTask()]));
    await Promise.all(calls);
  });
  const batches = Math.ceil(options.batched / options.batchSize);
  const tasks = Array.from(
    { length: batches },
    () => Array.from({ length: options.batchSize }, benchTask),
  );
  const batched = await perSecond(batches * options.batchSize, async () => {
    for (const batch of tasks) await store.insert(batch);
  });
  // Each task to running, then to succeeded: the engine's two writes per run.
  const writes = await perSecond(2 * batches * options.batchSize, async () => {
    const now = Date.now();
    for (const batch of tasks) {
      await store.write(
        batch.map((t) => ({ ...t, status: "running", attempts: 1, startedAt: now })),
      );
    }
    for (const batch of tasks) {
      await store.write(batch.map((t) => ({ ...t, status: "succeeded", finishedAt: now })));
    }
  });
  return { sequential, concurrent, batched, writes };
}

function insertRows(
  label: string,
  figures: InsertFigures,
  options: Required<StoreBenchOptions>,
  goal?: number,
): BenchRow[] {
  const batchedRow: BenchRow = {
    name: `${label}: insert batched (${options.batchSize}/call)`,
    value: figures.batched,
    unit: "tasks/s",
  };
  if (goal !== undefined) {
    batchedRow.goal = `≥ ${goal.toLocaleString("en-US")} tasks/s`;
    batchedRow.ok = figures.batched >= goal;
  }
  return [
    { name: `${label}: insert single, sequential`, value: figures.sequential, unit: "tasks/s" },
    {
      name: `${label}: insert single, ${options.concurrent} at once`,
      value: figures.concurrent,
      unit: "tasks/s",
    },
    batchedRow,
    {
      name: `${label}: write batched (${options.batchSize} transitions/call)`,
      value: figures.writes,
      unit: "writes/s",
    },
  ];
}

/** Claim → complete loops, one per node, each with its own store object (pool). */
async function measureClaims(schema: string, nodes: number, count: number): Promise<number> {
  const stores = Array.from({ length: nodes }, () => new PostgresStore(PG_URL, { schema }));
  try {
    for (const store of stores) await store.open();
    for (let i = 0; i < count; i += 5000) {
      await stores[0].insert(Array.from({ length: Math.min(5000, count - i) }, benchTask));
    }
    let completed = 0;
    const node = async (store: PostgresStore, nodeId: string) => {
      // Two claim loops per node, like an engine with idle workers asking again.
      const loop = async () => {
        while (true) {
          const claimed = await store.claim(64, nodeId, 15_000);
          if (claimed.length === 0) return;
          const now = Date.now();
          const refused = await store.writeFenced(claimed.map((c) => ({
            task: {
              ...c.task,
              status: "succeeded" as const,
              result: c.task.payload,
              finishedAt: now,
            },
            leaseToken: c.leaseToken,
          })));
          completed += claimed.length - refused.length;
        }
      };
      await Promise.all([loop(), loop()]);
    };
    const rate = await perSecond(
      count,
      () => Promise.all(stores.map((store, i) => node(store, `bench-${i}`))).then(() => {}),
    );
    if (completed !== count) throw new Error(`Completed ${completed} of ${count} tasks.`);
    return rate;
  } finally {
    for (const store of stores) await store.close();
  }
}

/**
 * Durable submits through the engine: `tf.submitBatch` of 1,000 tasks at a
 * time, delayed by an hour so no worker runs them (only the submit path and
 * the store are measured). The engine opens and closes `store`.
 */
async function measureEngineSubmit(store: TaskStore, count: number): Promise<number> {
  const tf = await ThreadFlow.start({ workers: 1, store });
  try {
    return await perSecond(count, async () => {
      for (let i = 0; i < count; i += 1000) {
        await tf.submitBatch(
          Array.from({ length: Math.min(1000, count - i) }, () => ({
            type: "noop",
            delayMs: 3_600_000,
          })),
        );
      }
    });
  } finally {
    await tf.close({ drainMs: 0 });
  }
}

function engineSubmitRow(label: string, value: number, goal?: number): BenchRow {
  const row: BenchRow = {
    name: `${label}: engine submitBatch (1000/call)`,
    value,
    unit: "tasks/s",
  };
  if (goal !== undefined) {
    row.goal = `≥ ${goal.toLocaleString("en-US")} tasks/s`;
    row.ok = value >= goal;
  }
  return row;
}

/**
 * End to end through the engine: `nodes` ThreadFlow instances (2 workers
 * each, one process) on one schema run `count` noop tasks submitted in
 * batches; measured from the first submit to the last completion.
 */
async function measureEngine(schema: string, nodes: number, count: number): Promise<number> {
  const engines: ThreadFlow[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      engines.push(
        await ThreadFlow.start({
          workers: 2,
          nodeId: `bench-node-${i}`,
          store: new PostgresStore(PG_URL, { schema }),
        }),
      );
    }
    let finished = 0;
    const all = Promise.withResolvers<void>();
    for (const engine of engines) {
      engine.on((event) => {
        if (event.type === "task.succeeded" && event.task.nodeId === engine.nodeId) {
          if (++finished === count) all.resolve();
        }
      });
    }
    return await perSecond(count, async () => {
      for (let i = 0; i < count; i += 1000) {
        const size = Math.min(1000, count - i);
        await engines[(i / 1000) % nodes].submitBatch(
          Array.from({ length: size }, (_, k) => ({ type: "noop", payload: { i: i + k } })),
        );
      }
      await all.promise;
    });
  } finally {
    for (const engine of engines) await engine.close();
  }
}

/**
 * Runs the store benchmark and returns its section.
 *
 * @example
 * ```ts
 * import { run } from "./store_bench.ts";
 * const section = await run({ sequential: 100, concurrent: 1000, batched: 5000, claimed: 2000 });
 * console.log(section.rows.length);
 * ```
 */
export async function run(options: StoreBenchOptions = {}): Promise<BenchSection> {
  const scale = benchScale();
  const scaled = (value: number) => Math.max(100, Math.round(value * scale));
  const sizes: Required<StoreBenchOptions> = {
    sequential: options.sequential ?? scaled(1_000),
    concurrent: options.concurrent ?? scaled(20_000),
    batched: options.batched ?? scaled(100_000),
    batchSize: options.batchSize ?? 1_000,
    claimed: options.claimed ?? scaled(20_000),
  };
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = { sizes };

  const memory = new MemoryStore();
  await memory.open();
  rows.push(...insertRows("memory", await measureInserts(memory, sizes), sizes));
  await memory.close();
  rows.push(engineSubmitRow("memory", await measureEngineSubmit(new MemoryStore(), sizes.batched)));

  const dir = await Deno.makeTempDir({ prefix: "tf_store_bench_" });
  try {
    const sqlite = new SqliteStore(join(dir, "full.db"));
    await sqlite.open();
    const figures = await measureInserts(sqlite, sizes);
    rows.push(...insertRows("sqlite (synchronous=FULL)", figures, sizes, SQLITE_BATCHED_GOAL));
    await sqlite.close();
    const normal = new SqliteStore(join(dir, "normal.db"), { synchronous: "normal" });
    await normal.open();
    rows.push(
      ...insertRows("sqlite (synchronous=NORMAL)", await measureInserts(normal, sizes), sizes),
    );
    await normal.close();
    const engineRate = await measureEngineSubmit(
      new SqliteStore(join(dir, "engine.db")),
      sizes.batched,
    );
    rows.push(engineSubmitRow("sqlite (synchronous=FULL)", engineRate, SQLITE_BATCHED_GOAL));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  if (await pgReachable(PG_URL)) {
    const schema = `tf_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const admin = postgres(PG_URL, { onnotice: () => {}, max: 1 });
    try {
      const pg = new PostgresStore(PG_URL, { schema });
      await pg.open();
      rows.push(...insertRows("postgres", await measureInserts(pg, sizes), sizes));
      await pg.close();
      await admin.unsafe(`TRUNCATE ${schema}.tasks`);
      const pgSubmit = await measureEngineSubmit(
        new PostgresStore(PG_URL, { schema }),
        sizes.batched,
      );
      rows.push(engineSubmitRow("postgres", pgSubmit));
      for (const nodes of [1, 2]) {
        await admin.unsafe(`TRUNCATE ${schema}.tasks`);
        const rate = await measureClaims(schema, nodes, sizes.claimed);
        rows.push({
          name: `postgres: claim(64) → fenced complete, ${nodes} node(s), store level`,
          value: rate,
          unit: "tasks/s",
        });
      }
      for (const nodes of [1, 2]) {
        await admin.unsafe(`TRUNCATE ${schema}.tasks`);
        const rate = await measureEngine(schema, nodes, sizes.claimed);
        rows.push({
          name: `postgres: noop end to end, ${nodes} engine node(s) x 2 workers, one process`,
          value: rate,
          unit: "tasks/s",
          ...(nodes === 2
            ? {
              goal: `≥ ${PG_CLAIM_GOAL.toLocaleString("en-US")} tasks/s`,
              ok: rate >= PG_CLAIM_GOAL,
            }
            : {}),
        });
      }
    } finally {
      await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end({ timeout: 5 });
    }
  } else {
    details.postgres = `skipped: PostgreSQL is not reachable at ${PG_URL}`;
  }

  return { title: "Stores (durable inserts, claims)", rows, details };
}

if (import.meta.main) {
  const section = await run();
  printSection(section);
  if (section.details?.postgres) console.log(section.details.postgres);
}
