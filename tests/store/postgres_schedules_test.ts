/**
 * Schedules on a 3-node PostgreSQL cluster (three processes): a schedule
 * every second fires exactly once per tick across the nodes, 10 times in
 * 10 s, each tick one task; and still one task per tick, none missing, when
 * a node is SIGKILLed midway (catch-up `all`).
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
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

/** Saves the schedule `every-second` (`@every 1s`) through `store`; returns its creation, a whole second. */
async function createEverySecond(store: PostgresStore, catchUp: "latest" | "all"): Promise<number> {
  const createdAt = Math.floor(Date.now() / 1_000) * 1_000; // @every 1s ticks on whole seconds
  await store.insertSchedule({
    name: NAME,
    cron: "@every 1s",
    timezone: "UTC",
    task: { type: "noop" },
    overlap: "allow",
    catchUp,
    paused: false,
    createdAt,
    updatedAt: createdAt,
    nextRunAt: createdAt + 1_000,
    lastTick: null,
    lastTaskId: null,
  });
  return createdAt;
}

/** The ticks of the schedule's tasks up to `end`, in order. */
async function ticksUpTo(sql: postgres.Sql, schema: string, end: number): Promise<number[]> {
  const rows = await sql.unsafe(
    `SELECT schedule_tick::float8 AS tick FROM ${schema}.tasks
     WHERE schedule_name = $1 AND schedule_tick <= $2 ORDER BY schedule_tick`,
    [NAME, end],
  );
  return rows.map((row) => row.tick as number);
}

/** Polls until `count` ticks up to `end` have their task (or a minute passed). */
async function waitForTicks(sql: postgres.Sql, schema: string, end: number, count: number) {
  const giveUpAt = Date.now() + 60_000;
  while ((await ticksUpTo(sql, schema, end)).length < count && Date.now() < giveUpAt) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // A moment more: a second fire of any tick would show now.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
}

type Node = ReturnType<typeof spawnNode>;

/** Three nodes in processes of their own on a fresh schema; dropped afterwards. */
async function withCluster(
  fn: (
    cluster: { schema: string; sql: postgres.Sql; admin: PostgresStore; nodes: Node[] },
  ) => Promise<void>,
): Promise<void> {
  const schema = `tf_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const sql = postgres(PG_URL, { onnotice: () => {}, max: 2 });
  const admin = new PostgresStore(PG_URL, { schema, maxConnections: 2 });
  await admin.open();
  const nodes = ["node-a", "node-b", "node-c"].map((id) => spawnNode(schema, id));
  try {
    await Promise.all(nodes.map((node) => node.ready));
    await fn({ schema, sql, admin, nodes });
  } finally {
    await Promise.all(nodes.map((node) => node.kill()));
    await admin.close();
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql.end({ timeout: 5 });
  }
}

/** Asserts one task per tick of the first 10 s, and never two tasks for a tick. */
async function assertOnePerTick(sql: postgres.Sql, schema: string, createdAt: number) {
  const expected = Array.from({ length: 10 }, (_, i) => createdAt + (i + 1) * 1_000);
  assertEquals(await ticksUpTo(sql, schema, createdAt + 10_000), expected, "one task per tick");
  const [all] = await sql.unsafe(
    `SELECT count(*)::int AS n, count(DISTINCT schedule_tick)::int AS ticks
     FROM ${schema}.tasks WHERE schedule_name = $1`,
    [NAME],
  );
  assertEquals(all.n, all.ticks, "never two tasks for one tick");
  return expected;
}

const firesPerNode = (nodes: Node[]) =>
  nodes.map((node) => `${node.nodeId}: ${node.fired.length}`).join(", ");

Deno.test({
  name: "postgres cluster: a schedule every second fires exactly 10 times in 10 s across 3 nodes",
  ignore,
  fn: () =>
    withCluster(async ({ schema, sql, admin, nodes }) => {
      const createdAt = await createEverySecond(admin, "latest");
      const end = createdAt + 10_000;
      await waitForTicks(sql, schema, end, 10);
      await admin.deleteSchedule(NAME);
      const expected = await assertOnePerTick(sql, schema, createdAt);
      const firedInWindow = nodes.flatMap((node) => node.fired).filter((f) => f.tick <= end);
      assertEquals(firedInWindow.map((f) => f.tick).sort((a, b) => a - b), expected);
      console.log(`fires per node: ${firesPerNode(nodes)}`);
    }),
});

Deno.test({
  name: "postgres cluster: one task per tick, none missing, with a node SIGKILLed midway",
  ignore,
  fn: () =>
    withCluster(async ({ schema, sql, admin, nodes }) => {
      const createdAt = await createEverySecond(admin, "all");
      const latest = () => Math.max(0, ...nodes.flatMap((node) => node.fired.map((f) => f.tick)));
      const giveUpAt = Date.now() + 30_000;
      while (latest() < createdAt + 4_000) {
        if (Date.now() > giveUpAt) throw new Error("no node fired the fourth tick");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Midway, kill the node that fired last, most often just after it submitted a tick and
      // before it recorded the fire: its lease lapses (15 s), and the next claimer submits that
      // tick again (its task exists: none is created) and catches up the rest.
      const doomed = nodes.find((node) => node.fired.at(-1)?.tick === latest())!;
      await doomed.kill();
      await waitForTicks(sql, schema, createdAt + 10_000, 10);
      await admin.deleteSchedule(NAME);
      await assertOnePerTick(sql, schema, createdAt);
      const announced = nodes.flatMap((node) => node.fired.map((f) => f.tick));
      assertEquals(new Set(announced).size, announced.length, "no tick announced twice");
      console.log(`killed ${doomed.nodeId}; fires per node: ${firesPerNode(nodes)}`);
    }),
});
