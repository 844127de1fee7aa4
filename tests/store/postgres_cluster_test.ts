/**
 * Several ThreadFlow nodes on one PostgreSQL schema: every task runs exactly
 * once, higher priority is claimed first across nodes, and the tasks of a
 * node killed with SIGKILL are finished by the others once its leases expire.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type postgres from "postgres";
import { ThreadFlow } from "../../mod.ts";
import type { Task } from "../../engine/model/task.ts";
import { PostgresStore } from "../../engine/store/postgres/postgres_store.ts";
import { makeTask } from "./conformance.ts";
import { PG_URL, pgReachable as reachable, withSchema } from "./_postgres.ts";

const CHILD = new URL("./_cluster_child.ts", import.meta.url);

const ignore = !(await reachable());

async function startNodes(schema: string, count: number, workers = 2): Promise<ThreadFlow[]> {
  const nodes: ThreadFlow[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await ThreadFlow.start({
        workers,
        nodeId: `node-${i}`,
        store: new PostgresStore(PG_URL, { schema, maxConnections: 4 }),
      }),
    );
  }
  return nodes;
}

async function untilFinished(sql: postgres.Sql, schema: string, total: number): Promise<void> {
  // A safety net so a regression fails the test instead of hanging the run.
  const giveUpAt = Date.now() + 120_000;
  for (;;) {
    if (Date.now() > giveUpAt) {
      const counts = await sql.unsafe(
        `SELECT status, count(*)::int AS n FROM ${schema}.tasks GROUP BY status`,
      );
      throw new Error(`Tasks did not all finish: ${JSON.stringify(counts)}.`);
    }
    const [{ n }] = await sql.unsafe(
      `SELECT count(*)::int AS n FROM ${schema}.tasks
       WHERE status IN ('succeeded', 'failed', 'cancelled')`,
    );
    if (n === total) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const nodeCount of [2, 3]) {
  Deno.test({
    name: `postgres cluster: ${nodeCount} nodes run 5,000 tasks, each exactly once`,
    ignore,
    fn: () =>
      withSchema(async (schema, sql) => {
        const nodes = await startNodes(schema, nodeCount);
        const starts = new Map<string, string[]>();
        try {
          for (const node of nodes) {
            node.on((event) => {
              if (event.type === "task.started" && event.task.nodeId === node.nodeId) {
                starts.set(event.task.id, [...(starts.get(event.task.id) ?? []), node.nodeId]);
              }
            });
          }
          for (let i = 0; i < 5_000; i += 250) {
            await nodes[(i / 250) % nodeCount].submitBatch(
              Array.from({ length: 250 }, (_, k) => ({
                type: "noop",
                payload: { i: i + k },
                priority: 1 + ((i + k) % 10),
              })),
            );
          }
          await untilFinished(sql, schema, 5_000);
        } finally {
          for (const node of nodes) await node.close();
        }
        const rows = await sql.unsafe(
          `SELECT status, attempts, node_id, count(*)::int AS n FROM ${schema}.tasks
           GROUP BY status, attempts, node_id ORDER BY node_id`,
        );
        for (const row of rows) assertEquals([row.status, row.attempts], ["succeeded", 1]);
        assertEquals(rows.length, nodeCount, "every node took part");
        assertEquals(starts.size, 5_000);
        const twice = [...starts.values()].filter((by) => by.length > 1);
        assertEquals(twice, [], "no task may start twice");
      }),
  });
}

Deno.test({
  name: "postgres cluster: higher priority is claimed first across nodes",
  ignore,
  fn: () =>
    withSchema(async (schema, sql) => {
      // Queue everything before any node runs: 300 low, then 300 high.
      const seed = new PostgresStore(PG_URL, { schema });
      await seed.open();
      const low = Array.from({ length: 300 }, () => makeTask({ priority: 1 }));
      const high = Array.from({ length: 300 }, () => makeTask({ priority: 10 }));
      await seed.insert([...low, ...high]);
      await seed.close();
      const nodes = await startNodes(schema, 2, 1);
      try {
        await untilFinished(sql, schema, 600);
      } finally {
        for (const node of nodes) await node.close();
      }
      const rows = await sql.unsafe(
        `SELECT priority, started_at FROM ${schema}.tasks ORDER BY started_at, priority DESC`,
      );
      const started = (priority: number) =>
        rows.filter((row) => row.priority === priority).map((row) => Number(row.started_at));
      const lowStarts = started(1).sort((a, b) => a - b);
      const lastHigh = Math.max(...started(10));
      // Every high-priority task started before the median low-priority one.
      assert(
        lastHigh <= lowStarts[Math.floor(lowStarts.length / 2)],
        `a priority-10 task started at ${lastHigh}, after most priority-1 tasks`,
      );
    }),
});

Deno.test({
  name: "postgres cluster: a SIGKILLed node's tasks are finished by another after its lease",
  ignore,
  fn: () =>
    withSchema(async (schema, sql) => {
      const seed = new PostgresStore(PG_URL, { schema });
      await seed.open();
      const tasks: Task[] = Array.from(
        { length: 200 },
        (_, i) =>
          makeTask({
            type: "sleep",
            payload: { ms: 30 },
            maxAttempts: i % 4 === 0 ? 1 : 2,
          }),
      );
      await seed.insert(tasks);
      await seed.close();

      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CHILD.pathname, PG_URL, schema, "doomed"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const started: string[] = [];
      let buffer = "";
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      while (started.length < 10) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the child node exited early: ${await stderr}`);
        buffer += value;
        const lines = buffer.split("\n");
        buffer = lines.pop()!;
        for (const line of lines) if (line.startsWith("STARTED ")) started.push(line.slice(8));
      }
      child.kill("SIGKILL");
      await reader.cancel();
      assertEquals((await child.status).signal, "SIGKILL");
      await stderr;

      // Running, or claimed and waiting for a worker (a claimed task stays queued until a
      // worker starts it; a start not yet committed is still a claim).
      const stranded = await sql.unsafe(
        `SELECT id, status FROM ${schema}.tasks
         WHERE node_id = 'doomed' AND lease_token IS NOT NULL`,
      );
      assert(stranded.length > 0, "the node was killed holding tasks");
      const nodes = await startNodes(schema, 1);
      try {
        await untilFinished(sql, schema, 200);
      } finally {
        for (const node of nodes) await node.close();
      }
      const rows = await sql.unsafe(`SELECT * FROM ${schema}.tasks`);
      assertEquals(rows.filter((row) => row.status === "running"), []);
      const byId = new Map(rows.map((row) => [row.id as string, row]));
      // Each task the dead node held was rerun, or failed by its lease — or
      // finished by the dead node's last commit, in flight when it was killed.
      for (const { id, status } of stranded) {
        const row = byId.get(id)!;
        // A claim that never started runs as a first attempt; a run that did, as a second.
        const rerun = row.status === "succeeded" && row.attempts === (status === "queued" ? 1 : 2);
        const leaseFailed = row.status === "failed" && row.error.includes("LeaseExpiredError");
        const lastCommit = row.status === "succeeded" && row.node_id === "doomed";
        assert(rerun || leaseFailed || lastCommit, `task ${id} ended as ${JSON.stringify(row)}`);
      }
      for (const row of rows) {
        if (row.status === "failed") {
          assertEquals(JSON.parse(row.error).name, "LeaseExpiredError");
          assertEquals(row.max_attempts, 1);
        } else {
          assertEquals(row.status, "succeeded");
        }
      }
    }),
});
