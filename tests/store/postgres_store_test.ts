import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import postgres from "postgres";
import { PostgresStore } from "../../engine/store/postgres/postgres_store.ts";
import {
  migratePostgres,
  POSTGRES_MIGRATIONS,
  POSTGRES_SCHEMA_VERSION,
} from "../../engine/store/postgres/migrations.ts";
import { StoreUnavailableError } from "../../engine/model/errors.ts";
import { makeTask, sharedStoreConformance, storeConformance, withStore } from "./conformance.ts";
import type { StoreHarness } from "./conformance.ts";
import { engineConformance } from "./engine_conformance.ts";
import { freshSchema, PG_URL, pgReachable as reachable } from "./_postgres.ts";

const ignore = (await reachable())
  ? undefined
  : `PostgreSQL is not reachable at ${PG_URL} (start it, or set THREADFLOW_TEST_PG)`;

async function dropSchema(schema: string): Promise<void> {
  const sql = postgres(PG_URL, { onnotice: () => {}, max: 1 });
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function harness(): Promise<StoreHarness> {
  const schema = freshSchema();
  return Promise.resolve({
    create: () => new PostgresStore(PG_URL, { schema, maxConnections: 4 }),
    cleanup: () => dropSchema(schema),
  });
}

storeConformance({ name: "postgres store", durable: true, shared: true, ignore, harness });
engineConformance({ name: "postgres", ignore, harness });
sharedStoreConformance({ name: "postgres store", ignore, harness });

Deno.test({
  name: "postgres store: migrates an empty schema, and re-running changes nothing",
  ignore: ignore !== undefined,
  fn: async () => {
    const schema = freshSchema();
    const sql = postgres(PG_URL, { onnotice: () => {}, max: 2 });
    try {
      const versions = POSTGRES_MIGRATIONS.map((migration) => migration.version);
      assertEquals(versions.at(-1), POSTGRES_SCHEMA_VERSION);
      assertEquals(await migratePostgres(sql, schema), versions);
      assertEquals(await migratePostgres(sql, schema), []);
      const store = new PostgresStore(`${PG_URL}?schema=${schema}`);
      assertEquals(store.name, `postgres://127.0.0.1:5432/test?schema=${schema}`);
      await store.open();
      await store.close();
      const rows = await sql.unsafe(
        `SELECT version FROM ${schema}.schema_migrations ORDER BY version`,
      );
      assertEquals(rows.map((row) => row.version), versions);
    } finally {
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await sql.end({ timeout: 5 });
    }
  },
});

Deno.test({
  name: "postgres store: a version-1 schema with tasks upgrades, its counts carried over",
  ignore: ignore !== undefined,
  fn: async () => {
    const schema = freshSchema();
    const sql = postgres(PG_URL, { onnotice: () => {}, max: 2 });
    try {
      assertEquals(await migratePostgres(sql, schema, 1), [1]);
      const v1 = new PostgresStore(`${PG_URL}?schema=${schema}`);
      // Rows as version 1 left them: queued, scheduled, and one running under an old claim.
      await sql.unsafe(
        `INSERT INTO ${schema}.tasks (id, type, priority, status, attempts, max_attempts,
          timeout_ms, created_at, run_at) VALUES
          (gen_random_uuid(), 'noop', 7, 'queued', 0, 1, 1000, 1, 1),
          (gen_random_uuid(), 'noop', 7, 'queued', 0, 1, 1000, 2, 2),
          (gen_random_uuid(), 'noop', 3, 'scheduled', 0, 1, 1000, 3, 99999999999999),
          (gen_random_uuid(), 'noop', 5, 'succeeded', 1, 1, 1000, 4, 4)`,
      );
      await v1.open(); // migrates to the latest version
      try {
        const depth = await v1.clusterDepth();
        assertEquals(
          [depth.counts.queued, depth.counts.scheduled, depth.counts.succeeded],
          [2, 1, 1],
        );
        assertEquals(depth.queuedByPriority[7], 2);
        assertEquals(depth.oldestQueuedAt[7], 1);
        assertEquals((await v1.claim(5, "n", 15_000)).length, 2);
      } finally {
        await v1.close();
      }
    } finally {
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await sql.end({ timeout: 5 });
    }
  },
});

Deno.test({
  name: "postgres store: an unreachable server fails open with StoreUnavailableError",
  ignore: ignore !== undefined,
  fn: async () => {
    const store = new PostgresStore("postgres://postgres@127.0.0.1:1/test", {
      connectTimeoutSeconds: 1,
    });
    const error = await store.open().then(() => undefined, (e) => e);
    await store.close();
    assert(error instanceof StoreUnavailableError, String(error));
    assert(error.message.includes("127.0.0.1:1"), error.message);
  },
});

Deno.test({
  name: "postgres store: a killed connection marks it unhealthy, then it recovers",
  ignore: ignore !== undefined,
  fn: async () => {
    const h = await harness();
    await withStore(h, async (store) => {
      const changes: boolean[] = [];
      (store as PostgresStore).onHealthChange((healthy) => changes.push(healthy));
      await store.insert([makeTask()]);
      const admin = postgres(PG_URL, { onnotice: () => {}, max: 1 });
      try {
        // Kill every connection of this store (and only of this store) from outside.
        await admin.unsafe(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
          [`threadflow ${(store as PostgresStore).schema}`],
        );
      } finally {
        await admin.end({ timeout: 5 });
      }
      // The first call on a dead connection may fail; the store reconnects after.
      let recovered = false;
      for (let i = 0; i < 50 && !recovered; i++) {
        try {
          await store.counts();
          recovered = true;
        } catch (error) {
          assert(error instanceof StoreUnavailableError, String(error));
          assert(!(store as PostgresStore).healthy);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      assert(recovered);
      assert((store as PostgresStore).healthy);
      if (changes.length > 0) assertEquals(changes, [false, true]);
      assertEquals((await store.counts()).queued, 1);
      // Writes survive a lost connection: retried until the database answers.
      const [task] = (await store.list({ limit: 50 })).tasks;
      const admin2 = postgres(PG_URL, { onnotice: () => {}, max: 1 });
      try {
        await admin2.unsafe(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
          [`threadflow ${(store as PostgresStore).schema}`],
        );
      } finally {
        await admin2.end({ timeout: 5 });
      }
      await store.write([{ ...task, status: "cancelled", finishedAt: Date.now() }]);
      assertEquals((await store.get(task.id))?.status, "cancelled");
    });
  },
});

Deno.test({
  name: "postgres store: one turn's calls share one commit, and resolve only after it",
  ignore: ignore !== undefined,
  fn: async () => {
    const h = await harness();
    await withStore(h, async (shared) => {
      const store = shared as PostgresStore;
      const sql = postgres(PG_URL, { onnotice: () => {}, max: 1 });
      try {
        const tasks = Array.from({ length: 100 }, () => makeTask());
        const before = store.commits;
        const calls = [
          ...tasks.slice(0, 50).map((task) => store.insert([task])),
          store.write([{ ...tasks[0], status: "running", attempts: 1 }]),
          store.insert(tasks.slice(50)),
        ];
        const seenAtFirstAnswer = await calls[0].then(async () => {
          const [{ n }] = await sql.unsafe(`SELECT count(*)::int AS n FROM ${store.schema}.tasks`);
          return n;
        });
        await Promise.all(calls);
        assertEquals(seenAtFirstAnswer, 100);
        assertEquals(store.commits - before, 1);
      } finally {
        await sql.end({ timeout: 5 });
      }
    });
  },
});

Deno.test({
  name: "postgres store: a lost listening connection comes back and says so",
  ignore: ignore !== undefined,
  fn: async () => {
    const schema = freshSchema();
    const applicationName = `tf listen ${schema}`;
    const a = new PostgresStore(PG_URL, { schema });
    const b = new PostgresStore(PG_URL, { schema, applicationName });
    const admin = postgres(PG_URL, { onnotice: () => {}, max: 1 });
    await a.open();
    await b.open();
    try {
      const received: unknown[] = [];
      let wake: () => void = () => {};
      const unsubscribe = await b.subscribe((message) => {
        received.push(message);
        wake();
      });
      const until = async (predicate: () => boolean) => {
        while (!predicate()) await new Promise<void>((resolve) => (wake = resolve));
      };
      try {
        await admin.unsafe(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
          [applicationName],
        );
        // The listener is back: a wake-up first (messages may have been missed) ...
        await until(() => received.length >= 1);
        assertEquals(received[0], { kind: "work", origin: "" });
        // ... then messages flow again.
        await a.publish({ kind: "cancel", origin: a.instanceId, taskId: "t", nodeId: "n" });
        const isCancel = (m: unknown) => (m as { kind: string }).kind === "cancel";
        await until(() => received.some(isCancel));
        assertEquals(received.find(isCancel), {
          kind: "cancel",
          origin: a.instanceId,
          taskId: "t",
          nodeId: "n",
        });
      } finally {
        await unsubscribe();
      }
    } finally {
      await a.close();
      await b.close();
      await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end({ timeout: 5 });
    }
  },
});

Deno.test({
  name: "postgres store: a node restarted with the same id does not renew its old leases",
  ignore: ignore !== undefined,
  fn: async () => {
    const h = await harness();
    await withStore(h, async (store) => {
      const shared = store as PostgresStore;
      await shared.insert([makeTask({ maxAttempts: 2 }), makeTask({ maxAttempts: 2 })]);
      // The previous life of node "steady" claimed one task, then died.
      const previous = h.create() as PostgresStore;
      await previous.open();
      const [orphan] = await previous.claim(1, "steady", 300);
      await previous.close();
      // The new life claims the other one; its renewals cover only that.
      const [mine] = await shared.claim(1, "steady", 15_000);
      const renewed = await shared.renewLeases("steady", 15_000);
      assertEquals(renewed.map((lease) => lease.taskId), [mine.task.id]);
      await new Promise((resolve) => setTimeout(resolve, 350));
      // The orphan never started: its claim simply lapses, and any node may take it.
      assertEquals(await shared.reclaimExpired(), []);
      const [again] = await shared.claim(1, "other", 15_000);
      assertEquals(again.task.id, orphan.task.id);
    });
  },
});
