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

/** Seeds `low` priority-1 and then `high` priority-10 tasks, runs them on two nodes of one worker. */
async function runLowThenHigh(
  schema: string,
  sql: postgres.Sql,
  count: number,
  overrides: Partial<Task>,
): Promise<{ priority: number; startedAt: number; nodeId: string }[]> {
  // Queue everything before any node runs: the low ones first, then the high ones.
  const seed = new PostgresStore(PG_URL, { schema });
  await seed.open();
  const low = Array.from({ length: count }, () => makeTask({ ...overrides, priority: 1 }));
  const high = Array.from({ length: count }, () => makeTask({ ...overrides, priority: 10 }));
  await seed.insert([...low, ...high]);
  await seed.close();
  const nodes = await startNodes(schema, 2, 1);
  try {
    await untilFinished(sql, schema, 2 * count);
  } finally {
    for (const node of nodes) await node.close();
  }
  const rows = await sql.unsafe(`SELECT priority, started_at, node_id FROM ${schema}.tasks`);
  return rows.map((row) => ({
    priority: row.priority,
    startedAt: Number(row.started_at),
    nodeId: row.node_id,
  }));
}

Deno.test({
  name: "postgres cluster: higher priority is claimed first across nodes",
  ignore,
  fn: () =>
    withSchema(async (schema, sql) => {
      // Tasks of 6 ms are not quick (under 5 ms): a node claims only what its worker can take,
      // so the cluster starts the urgent tasks before the less urgent ones (but for one in
      // hand on each node).
      const rows = await runLowThenHigh(schema, sql, 60, {
        type: "sleep",
        payload: { ms: 6 },
      });
      const lowStarts = rows.filter((row) => row.priority === 1).map((row) => row.startedAt)
        .sort((a, b) => a - b);
      const lastHigh = Math.max(
        ...rows.filter((row) => row.priority === 10).map((row) => row.startedAt),
      );
      // Every high-priority task started before the median low-priority one.
      assert(
        lastHigh <= lowStarts[lowStarts.length / 2],
        `a priority-10 task started at ${lastHigh}, after most priority-1 tasks`,
      );
    }),
});

Deno.test({
  name: "postgres cluster: quick tasks claimed ahead still start most urgent first on each node",
  ignore,
  fn: () =>
    withSchema(async (schema, sql) => {
      // Quick tasks are claimed up to 256 ahead, so one node may hold urgent ones while the
      // other runs less urgent ones; each node still starts what it holds by priority, and no
      // node takes a less urgent task while an urgent one is unclaimed.
      const rows = await runLowThenHigh(schema, sql, 300, {});
      for (const nodeId of new Set(rows.map((row) => row.nodeId))) {
        const mine = rows.filter((row) => row.nodeId === nodeId);
        const lastHigh = Math.max(
          ...mine.filter((row) => row.priority === 10).map((row) => row.startedAt),
        );
        const firstLow = Math.min(
          ...mine.filter((row) => row.priority === 1).map((row) => row.startedAt),
        );
        assert(
          lastHigh <= firstLow,
          `${nodeId}: a priority-10 task started after a priority-1 one`,
        );
      }
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
