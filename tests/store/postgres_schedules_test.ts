/**
 * Schedules on a 3-node PostgreSQL cluster (three processes): a schedule
 * every second fires exactly once per tick across the nodes, 10 times in
 * 10 s, each tick one task.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import postgres from "postgres";
import { PostgresStore } from "../../engine/store/postgres/postgres_store.ts";
import { PG_URL, pgReachable as reachable } from "./_postgres.ts";

const CHILD = new URL("./_schedule_child.ts", import.meta.url);
const NAME = "every-second";

const ignore = !(await reachable());

/** A node in a process of its own; `fired` collects the ticks it fired. */
function spawnNode(schema: string, nodeId: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD.pathname, PG_URL, schema, nodeId],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const fired: { tick: number; taskId: string }[] = [];
  const { promise: ready, resolve, reject } = Promise.withResolvers<void>();
  const reading = (async () => {
    let buffer = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += text;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line === "READY") resolve();
        const [word, tick, taskId] = line.split(" ");
        if (word === "FIRED") fired.push({ tick: Number(tick), taskId });
      }
    }
    reject(new Error(`node ${nodeId} exited early: ${await stderr}`));
  })();
  return {
    nodeId,
    fired,
    ready,
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already dead
      }
      await child.status;
      await reading.catch(() => {});
      await stderr;
    },
  };
}

Deno.test({
  name: "postgres cluster: a schedule every second fires exactly 10 times in 10 s across 3 nodes",
  ignore,
  fn: async () => {
    const schema = `tf_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const sql = postgres(PG_URL, { onnotice: () => {}, max: 2 });
    const admin = new PostgresStore(PG_URL, { schema, maxConnections: 2 });
    await admin.open();
    const nodes = ["node-a", "node-b", "node-c"].map((id) => spawnNode(schema, id));
    try {
      await Promise.all(nodes.map((node) => node.ready));
      const createdAt = Math.floor(Date.now() / 1_000) * 1_000; // @every 1s ticks on whole seconds
      await admin.insertSchedule({
        name: NAME,
        cron: "@every 1s",
        timezone: "UTC",
        task: { type: "noop" },
        overlap: "allow",
        catchUp: "latest",
        paused: false,
        createdAt,
        updatedAt: createdAt,
        nextRunAt: createdAt + 1_000,
        lastTick: null,
        lastTaskId: null,
      });
      const end = createdAt + 10_000;
      const ticksInWindow = async () =>
        (await sql.unsafe(
          `SELECT schedule_tick::float8 AS tick FROM ${schema}.tasks
           WHERE schedule_name = $1 AND schedule_tick <= $2 ORDER BY schedule_tick`,
          [NAME, end],
        )).map((row) => row.tick as number);
      const giveUpAt = Date.now() + 60_000;
      while ((await ticksInWindow()).length < 10 && Date.now() < giveUpAt) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // A moment more: a second fire of any tick would show now.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await admin.deleteSchedule(NAME);

      const expected = Array.from({ length: 10 }, (_, i) => createdAt + (i + 1) * 1_000);
      assertEquals(await ticksInWindow(), expected, "one task per tick in the 10 s");
      const [all] = await sql.unsafe(
        `SELECT count(*)::int AS n, count(DISTINCT schedule_tick)::int AS ticks
         FROM ${schema}.tasks WHERE schedule_name = $1`,
        [NAME],
      );
      assertEquals(all.n, all.ticks, "never two tasks for one tick");
      const firedInWindow = nodes.flatMap((node) => node.fired).filter((f) => f.tick <= end);
      assertEquals(firedInWindow.map((f) => f.tick).sort((a, b) => a - b), expected);
      const byNode = nodes.map((node) => `${node.nodeId}: ${node.fired.length}`).join(", ");
      console.log(`fires per node: ${byNode}`);
      assert(nodes.some((node) => node.fired.length > 0));
    } finally {
      await Promise.all(nodes.map((node) => node.kill()));
      await admin.close();
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await sql.end({ timeout: 5 });
    }
  },
});
