import { setImmediate } from "node:timers";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SqliteStore } from "../../engine/store/sqlite/sqlite_store.ts";
import {
  migrateSqlite,
  SQLITE_MIGRATIONS,
  SQLITE_SCHEMA_VERSION,
} from "../../engine/store/sqlite/migrations.ts";
import { StoreUnavailableError } from "../../engine/model/errors.ts";
import { makeTask, storeConformance } from "./conformance.ts";
import { engineConformance } from "./engine_conformance.ts";

async function harness() {
  const dir = await Deno.makeTempDir({ prefix: "tf_sqlite_" });
  const path = join(dir, "nested", "threadflow.db");
  return {
    create: () => new SqliteStore(path),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

storeConformance({ name: "sqlite store", durable: true, harness });
// The same suite with the writes in the store's own thread (as a `:memory:` database runs them).
storeConformance({
  name: "sqlite store, writes in the event loop",
  durable: true,
  harness: async () => {
    const { create, cleanup } = await harness();
    return { create: () => new SqliteStore(create().path, { writeThread: false }), cleanup };
  },
});
engineConformance({ name: "sqlite", harness });

function versions(path: string): number[] {
  const db = new DatabaseSync(path);
  try {
    const rows = db.prepare("SELECT version FROM schema_migrations ORDER BY version").all();
    return rows.map((row) => row.version as number);
  } finally {
    db.close();
  }
}

/** Every migration this build knows, in order. */
const ALL_VERSIONS = SQLITE_MIGRATIONS.map((migration) => migration.version);

Deno.test("sqlite store: migrates an empty file, and re-running changes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_sqlite_" });
  try {
    const path = join(dir, "a.db");
    const store = new SqliteStore(path);
    await store.open();
    await store.close();
    assertEquals(versions(path), ALL_VERSIONS);
    assertEquals(SQLITE_SCHEMA_VERSION, ALL_VERSIONS.at(-1));
    const again = new SqliteStore(path);
    await again.open();
    await again.close();
    assertEquals(versions(path), ALL_VERSIONS);
    const db = new DatabaseSync(path);
    try {
      assertEquals(migrateSqlite(db), []);
      const mode = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
      assertEquals(mode.journal_mode, "wal");
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite store: a file at schema version 1 opens and is upgraded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_sqlite_" });
  try {
    const path = join(dir, "v1.db");
    const task = makeTask({ payload: new Uint8Array([7, 7]), status: "running", attempts: 1 });
    const db = new DatabaseSync(path);
    assertEquals(migrateSqlite(db, 1), [1]);
    // A row written the way the version-1 code wrote it.
    db.prepare(
      `INSERT INTO tasks (id, type, payload, priority, status, attempts, max_attempts, timeout_ms,
        progress, result, error, created_at, run_at, started_at, finished_at, worker_id,
        idempotency_key, node_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      task.id,
      task.type,
      task.payload as Uint8Array,
      task.priority,
      task.status,
      task.attempts,
      task.maxAttempts,
      task.timeoutMs,
      null,
      "null",
      null,
      task.createdAt,
      task.runAt,
      null,
      null,
      null,
      null,
      null,
    );
    db.close();
    assertEquals(versions(path), [1]);
    const store = new SqliteStore(path);
    try {
      assertEquals(await store.open(), [task]);
      assertEquals(versions(path), ALL_VERSIONS);
      assertEquals((await store.list({ status: ["running"], limit: 50 })).tasks, [task]);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite store: a file from a newer schema is refused with a clear error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_sqlite_" });
  try {
    const path = join(dir, "future.db");
    const db = new DatabaseSync(path);
    migrateSqlite(db);
    db.prepare("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)").run();
    db.close();
    const store = new SqliteStore(path);
    const error = await store.open().then(() => undefined, (e) => e);
    await store.close();
    assert(error instanceof StoreUnavailableError);
    assert(error.message.includes(path) && error.message.includes("version 99"), error.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite store: an unusable path fails with an error naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_sqlite_" });
  try {
    // A regular file where a folder should be: fails even for root.
    const blocker = join(dir, "not-a-folder");
    await Deno.writeTextFile(blocker, "");
    const path = join(blocker, "sub", "threadflow.db");
    const store = new SqliteStore(path);
    const error = await store.open().then(() => undefined, (e) => e);
    await store.close();
    assert(error instanceof StoreUnavailableError);
    assertEquals(error.code, "store_unavailable");
    assert(error.message.includes(path), error.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite store: calls after close are refused, the folder is created", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_sqlite_" });
  try {
    const path = join(dir, "a", "b", "c.db");
    const store = new SqliteStore(new URL(`file://${path}`));
    assertEquals(store.name, `sqlite:${path}`);
    assertEquals(store.kind, "local");
    await store.open();
    assert((await Deno.stat(path)).isFile);
    await store.close();
    const error = await store.get("x").then(() => undefined, (e) => e);
    assert(error instanceof StoreUnavailableError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Makes `path` read-only even for root (`chattr +i`; plain `chmod` otherwise);
 * returns the undo, or `undefined` when this system cannot.
 */
async function makeReadOnly(path: string): Promise<(() => Promise<void>) | undefined> {
  if (Deno.uid() !== 0) {
    await Deno.chmod(path, 0o444);
    return () => Deno.chmod(path, 0o644);
  }
  const chattr = (flag: string) =>
    new Deno.Command("chattr", { args: [flag, path], stderr: "null", stdout: "null" }).output()
      .then((output) => output.success, () => false);
  if (!(await chattr("+i"))) return undefined;
  return async () => {
    await chattr("-i");
  };
}

const readOnlyIgnore = await (async () => {
  const probe = await Deno.makeTempFile({ prefix: "tf_ro_probe_" });
  try {
    const undo = await makeReadOnly(probe);
    await undo?.();
    return undo === undefined;
  } finally {
    await Deno.remove(probe);
  }
})();

Deno.test({
  name: "sqlite store: a read-only database file fails with an error naming it",
  ignore: readOnlyIgnore, // needs chattr (as root) or a non-root user
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tf_sqlite_" });
    try {
      const path = join(dir, "readonly.db");
      const store = new SqliteStore(path);
      await store.open();
      await store.close();
      // No -wal/-shm left after a clean close; make the file itself read-only.
      const undo = (await makeReadOnly(path))!;
      try {
        const again = new SqliteStore(path);
        const error = await again.open().then(() => undefined, (e) => e);
        await again.close();
        assert(error instanceof StoreUnavailableError, String(error));
        assert(error.message.includes(path), error.message);
      } finally {
        await undo();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("sqlite store: one turn's calls share one commit, and resolve only after it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_sqlite_" });
  const path = join(dir, "group.db");
  const store = new SqliteStore(path);
  try {
    await store.open();
    const tasks = Array.from({ length: 100 }, () => makeTask());
    const before = store.commits;
    // Another connection: sees only what is committed.
    const reader = new DatabaseSync(path, { readOnly: true });
    try {
      const visible = () =>
        (reader.prepare("SELECT count(*) AS n FROM tasks").get() as { n: number }).n;
      const calls = [
        ...tasks.slice(0, 50).map((task) => store.insert([task])),
        store.write([{ ...tasks[0], status: "running", attempts: 1 }]),
        store.insert(tasks.slice(50)),
      ];
      assertEquals(visible(), 0); // nothing is committed within the turn
      const seenAtFirstAnswer = await calls[0].then(() => visible());
      await Promise.all(calls);
      assertEquals(seenAtFirstAnswer, 100);
      assertEquals(store.commits - before, 1);
    } finally {
      reader.close();
    }
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite store: the engine's record of task changes commits with the next submit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_sqlite_" });
  const path = join(dir, "held.db");
  const store = new SqliteStore(path);
  try {
    await store.open();
    const [first, second, third] = [makeTask(), makeTask(), makeTask()];
    await store.insert([first]);
    let before = store.commits;
    // Written in one turn (whose batch would go at its end), the submit in the next: one
    // transaction for both.
    const written = store.write([{ ...first, status: "running", attempts: 1 }]);
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([written, store.insert([second])]);
    assertEquals(store.commits - before, 1);
    assertEquals((await store.get(first.id))?.status, "running");

    // A read right after a write sees it: it does not wait behind the hold, nor miss it.
    before = store.commits;
    const ended = store.write([{ ...first, status: "succeeded", attempts: 1, finishedAt: 1 }]);
    assertEquals((await store.get(first.id))?.status, "succeeded");
    await ended;
    assertEquals(store.commits - before, 1);

    // With no submit after it, the write still commits on its own.
    before = store.commits;
    await store.insert([third]);
    await store.write([{ ...third, status: "running", attempts: 1 }]);
    assertEquals(store.commits - before, 2);
    assertEquals((await store.get(third.id))?.status, "running");
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite store: a second store on the same file is refused until the first closes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_sqlite_" });
  const path = join(dir, "shared.db");
  const first = new SqliteStore(path);
  try {
    await first.open();
    await first.insert([makeTask()]);
    const second = new SqliteStore(path);
    const error = await second.open().then(() => undefined, (e) => e);
    await second.close();
    assert(error instanceof StoreUnavailableError, String(error));
    assert(
      error.message.includes(path) && error.message.includes("another process"),
      error.message,
    );
    // The refused store did not disturb the first.
    await first.insert([makeTask()]);
    assertEquals((await first.counts()).queued, 2);
    await first.close();
    const third = new SqliteStore(path);
    assertEquals((await third.open()).length, 2);
    await third.close();
  } finally {
    await first.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite store: a :memory: database works, its writes in the store's thread", async () => {
  const store = new SqliteStore(":memory:");
  try {
    assertEquals(await store.open(), []);
    const task = makeTask();
    const [outcome] = await store.insert([task]);
    assertEquals(outcome, { task, created: true });
    assertEquals(await store.get(task.id), task);
    assertEquals((await store.counts()).queued, 1);
  } finally {
    await store.close();
  }
});
