/**
 * Queue control on a 3-node PostgreSQL cluster: a type's concurrency is
 * counted over every node, its rate is one budget for the cluster, and a
 * dependency graph runs in topological order, each task once, even when a
 * node is SIGKILLed midway.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type postgres from "postgres";
import { ThreadFlow } from "../../mod.ts";
import type { SubmitInput, Task } from "../../engine/model/task.ts";
import { PostgresStore } from "../../engine/store/postgres/postgres_store.ts";
import { FIXTURE_TASKS, seededRandom, waitFor } from "../engine/_helpers.ts";
import { PG_URL, pgReachable as reachable, withSchema } from "./_postgres.ts";

const CHILD = new URL("./_cluster_child.ts", import.meta.url);

const ignore = !(await reachable());

async function startNodes(schema: string, count: number, first = 0): Promise<ThreadFlow[]> {
  const nodes: ThreadFlow[] = [];
  for (let i = first; i < first + count; i++) {
    nodes.push(
      await ThreadFlow.start({
        workers: 2,
        concurrencyPerWorker: 2,
        tasksDir: FIXTURE_TASKS,
        nodeId: `node-${i}`,
        store: new PostgresStore(PG_URL, { schema, maxConnections: 4 }),
      }),
    );
  }
  return nodes;
}

/** Most intervals open at once. */
function peakOverlap(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([start, end]) => [[start, 1], [end, -1]] as const);
  // At one instant an end comes before a start: back-to-back runs do not overlap.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, step] of edges) peak = Math.max(peak, open += step);
  return peak;
}

Deno.test({
  name: "postgres cluster: a type's concurrency of 2 is never exceeded across 3 nodes",
  ignore,
  fn: () =>
    withSchema(async (schema) => {
      const nodes = await startNodes(schema, 3);
      // Each node's own runs, from its own events: started, then ended.
      const runs = new Map<string, { start: number; end?: number }>();
      const othersDone: Task[] = [];
      try {
        for (const node of nodes) {
          node.on((event) => {
            if (!("task" in event) || event.task.nodeId !== node.nodeId) return;
            const { task } = event;
            if (task.type === "noop" && event.type === "task.succeeded") othersDone.push(task);
            if (task.type !== "nap") return;
            if (event.type === "task.started") runs.set(task.id, { start: task.startedAt! });
            else if (event.type === "task.succeeded") runs.get(task.id)!.end = task.finishedAt!;
          });
        }
        await nodes[0].setTypeLimits("nap", { concurrency: 2 });
        await waitFor(
          () => nodes.every((node) => node.typeControl("nap").limits.concurrency === 2),
          "every node to take up the limit",
        );
        const naps: Task[] = [];
        for (let i = 0; i < 3; i++) {
          naps.push(
            ...await nodes[i].submitBatch(
              Array.from({ length: 20 }, () => ({ type: "nap", payload: { ms: 40 }, priority: 9 })),
            ),
          );
          await nodes[i].submitBatch(Array.from({ length: 20 }, () => ({ type: "noop" })));
        }
        for (const task of naps) assertEquals((await nodes[0].wait(task.id)).status, "succeeded");
        await waitFor(() => runs.size === 60 && [...runs.values()].every((r) => r.end), "events");
        const peak = peakOverlap([...runs.values()].map((r) => [r.start, r.end!]));
        assertEquals(peak, 2, "most nap tasks running at once, across the cluster");
        const byNode = new Set(naps.map((task) => task.id));
        assert(byNode.size === 60);
        assertEquals(othersDone.length, 60, "the other type ran beside the limited one");
      } finally {
        for (const node of nodes) await node.close({ drainMs: 0 });
      }
    }),
});

Deno.test({
  name: "postgres cluster: a rate of 50/s shared by 3 nodes starts 500 ± 5% tasks in 10 s",
  ignore,
  fn: () =>
    withSchema(async (schema, sql) => {
      const nodes = await startNodes(schema, 3);
      try {
        // A burst of 0.2 s of budget: a node's claim loop may pause that long on a loaded
        // machine without the budget overflowing (a bucket drops what exceeds its burst).
        await nodes[0].setTypeLimits("noop", { ratePerSecond: 50, burst: 10 });
        await waitFor(
          () => nodes.every((node) => node.typeControl("noop").limits.ratePerSecond === 50),
          "every node to take up the limit",
        );
        for (let i = 0; i < 3; i++) {
          await nodes[i].submitBatch(Array.from({ length: 400 }, () => ({ type: "noop" })));
        }
        const [{ first }] = await waitForRow(
          sql,
          `SELECT min(started_at)::float8 AS first FROM ${schema}.tasks`,
          (row) => row.first !== null,
        );
        await new Promise((resolve) => setTimeout(resolve, 10_500));
        const [{ n }] = await sql.unsafe(
          `SELECT count(*)::int AS n FROM ${schema}.tasks
           WHERE started_at >= $1::float8 AND started_at < $1::float8 + 10000`,
          [first as number],
        );
        console.log(`rate 50/s, 3 nodes: ${n} starts in 10 s`);
        assert(n >= 475 && n <= 525, `${n} tasks started in 10 s at 50/s`);
        const byNode = await sql.unsafe(
          `SELECT node_id, count(*)::int AS n FROM ${schema}.tasks
           WHERE started_at IS NOT NULL GROUP BY node_id`,
        );
        assertEquals(
          byNode.length,
          3,
          `every node drew from the budget: ${JSON.stringify(byNode)}`,
        );
      } finally {
        for (const node of nodes) await node.close({ drainMs: 0 });
      }
    }),
});

/** Polls `query` until its first row satisfies `ready`. */
async function waitForRow(
  sql: postgres.Sql,
  query: string,
  ready: (row: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>[]> {
  let rows: Record<string, unknown>[] = [];
  await waitFor(async () => {
    rows = await sql.unsafe(query);
    return rows.length > 0 && ready(rows[0]);
  }, query);
  return rows;
}

Deno.test({
  name: "postgres cluster: a 1,000-task graph runs in topological order, each task once, " +
    "with a node SIGKILLed midway",
  ignore,
  fn: () =>
    withSchema(async (schema, sql) => {
      // Each task depends on one to three earlier ones, mostly recent: about a hundred levels.
      const random = seededRandom(11);
      const inputs: SubmitInput[] = [];
      const parentsOf: number[][] = [];
      for (let i = 0; i < 1_000; i++) {
        const parents = new Set<number>();
        if (i > 0) {
          const count = 1 + Math.floor(random() * 3);
          for (let k = 0; k < count; k++) {
            parents.add(Math.max(0, i - 1 - Math.floor(random() * (k === 0 ? 10 : i))));
          }
        }
        parentsOf.push([...parents]);
        inputs.push({
          type: "sleep",
          payload: { ms: 2 },
          maxAttempts: 3,
          ...(parents.size > 0 ? { dependsOn: [...parents].map((p) => `#${p}`) } : {}),
        });
      }
      const nodes = await startNodes(schema, 2);
      const doomed = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CHILD.pathname, PG_URL, schema, "doomed"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(doomed.stderr).text();
      const reader = doomed.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const startedByDoomed: string[] = [];
      let childReady = false;
      let buffer = "";
      const readLines = async (until: () => boolean) => {
        while (!until()) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`the child node exited early: ${await stderr}`);
          buffer += value;
          const lines = buffer.split("\n");
          buffer = lines.pop()!;
          for (const line of lines) {
            if (line === "READY") childReady = true;
            if (line.startsWith("STARTED ")) startedByDoomed.push(line.slice(8));
          }
        }
      };
      const succeeded = new Map<string, number>();
      try {
        await readLines(() => childReady);
        for (const node of nodes) {
          node.on((event) => {
            if (event.type === "task.succeeded" && event.task.nodeId === node.nodeId) {
              succeeded.set(event.task.id, (succeeded.get(event.task.id) ?? 0) + 1);
            }
          });
        }
        const tasks = await nodes[0].submitBatch(inputs);
        // Midway: the third node dies holding tasks.
        await readLines(() => startedByDoomed.length >= 100);
        doomed.kill("SIGKILL");
        await reader.cancel();
        assertEquals((await doomed.status).signal, "SIGKILL");
        await stderr;

        const giveUpAt = Date.now() + 120_000;
        for (;;) {
          const [{ n }] = await sql.unsafe(
            `SELECT count(*)::int AS n FROM ${schema}.tasks WHERE status = 'succeeded'`,
          );
          if (n === 1_000) break;
          if (Date.now() > giveUpAt) {
            const counts = await sql.unsafe(
              `SELECT status, count(*)::int AS n FROM ${schema}.tasks GROUP BY status`,
            );
            throw new Error(`The graph did not finish: ${JSON.stringify(counts)}.`);
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const rows = await sql.unsafe(
          `SELECT id::text, started_at::float8, finished_at::float8, attempts, node_id
           FROM ${schema}.tasks`,
        );
        const byId = new Map(rows.map((row) => [row.id as string, row]));
        tasks.forEach((task, i) => {
          const row = byId.get(task.id)!;
          for (const p of parentsOf[i]) {
            const parent = byId.get(tasks[p].id)!;
            assert(
              (row.started_at as number) >= (parent.finished_at as number),
              `task ${i} started before its parent ${p} finished`,
            );
          }
        });
        // Once: a task ran again only if the dead node was running it.
        const doomedSet = new Set(startedByDoomed);
        const rerun = rows.filter((row) => (row.attempts as number) > 1);
        for (const row of rerun) {
          assert(doomedSet.has(row.id as string), `task ${row.id} ran ${row.attempts} times`);
        }
        for (const [id, times] of succeeded) assertEquals(times, 1, `task ${id} succeeded twice`);
        const survivors = rows.filter((row) => row.node_id !== "doomed").length;
        assertEquals(succeeded.size, survivors, "every task the live nodes ended, seen once");
      } finally {
        try {
          doomed.kill("SIGKILL");
        } catch {
          // already dead
        }
        for (const node of nodes) await node.close({ drainMs: 0 });
      }
    }),
});
