import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { StoreUnavailableError } from "../../engine/model/errors.ts";
import { emptyCounts } from "../../engine/model/task.ts";
import { openDatabase } from "../../engine/store/sqlite/_open.ts";
import { startWriteThread, type WriteChannel } from "../../engine/store/sqlite/_write_thread.ts";
import type { WriteReport } from "../../engine/store/sqlite/_writes.ts";
import { SqliteStore } from "../../engine/store/sqlite/sqlite_store.ts";
import { makeTask } from "./_store_fixtures.ts";

/**
 * Runs `body` with a store's database opened and migrated at a fresh path
 * (as `SqliteStore.open()` leaves it for the write thread), then closes it.
 */
async function withDatabase(
  name: string,
  body: (path: string, db: DatabaseSync) => Promise<WriteChannel>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tf_write_thread_" });
  const path = join(dir, name);
  const { db, lock } = openDatabase(path, "full");
  let thread: WriteChannel | undefined;
  try {
    thread = await body(path, db);
  } finally {
    await thread?.close();
    db.close();
    lock?.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sqlite write thread: reports a batch committed, then durable", async () => {
  await withDatabase("writes.db", async (path, db) => {
    const reports: WriteReport[] = [];
    const durable = Promise.withResolvers<void>();
    const thread = await startWriteThread(path, "full", emptyCounts(), {
      report(report) {
        reports.push(report);
        if (report.kind === "durable") durable.resolve();
      },
      lost: (error) => durable.reject(error),
    });
    const task = makeTask();
    thread.send(1, [{ kind: "insert", tasks: [task] }]);
    await durable.promise;
    assertEquals(reports.map((report) => report.kind), ["committed", "durable"]);
    const committed = reports[0] as Extract<WriteReport, { kind: "committed" }>;
    assertEquals(committed.outcomes, [{ ok: true, value: [null] }]);
    assertEquals(committed.counts.queued, 1);
    // The store's own connection sees the commit.
    assertEquals(db.prepare("SELECT id FROM tasks").all().map((row) => row.id), [task.id]);
    return thread;
  });
});

Deno.test("sqlite write thread: a thread that dies is reported lost, and later batches too", async () => {
  await withDatabase("lost.db", async (path) => {
    const lost: StoreUnavailableError[] = [];
    const first = Promise.withResolvers<void>();
    const thread = await startWriteThread(path, "full", emptyCounts(), {
      report: () => {},
      lost(error) {
        lost.push(error);
        first.resolve();
      },
    });
    // Not a list of requests: the thread throws outside any transaction and dies (its stack
    // trace on stderr is expected).
    thread.send(1, null as unknown as []);
    await first.promise;
    assert(lost[0] instanceof StoreUnavailableError);
    assert(lost[0].message.includes("write thread") && lost[0].message.includes(path));
    thread.send(2, [{ kind: "insert", tasks: [makeTask()] }]);
    assertEquals(lost.length, 2);
    assert(lost[1].message.includes("is gone"), lost[1].message);
    return thread;
  });
});

Deno.test("sqlite store: a batch that cannot be handed to the write thread fails its calls only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_write_thread_" });
  const store = new SqliteStore(join(dir, "clone.db"));
  try {
    await store.open();
    const task = makeTask();
    // A getter that throws: the structured clone that hands the batch over fails.
    const broken = Object.defineProperty(makeTask(), "payload", {
      enumerable: true,
      get() {
        throw new Error("no payload today");
      },
    });
    const error = await store.insert([broken]).then(() => undefined, (e) => e);
    assert(error instanceof StoreUnavailableError, String(error));
    assert(error.message.includes("no payload today"), error.message);
    // The store goes on: the next batch commits, and reads are not held back.
    assertEquals(await store.insert([task]), [{ task, created: true }]);
    assertEquals(await store.get(task.id), task);
    assertEquals((await store.counts()).queued, 1);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
