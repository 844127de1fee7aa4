/**
 * The store conformance suite, written once and run against every
 * {@linkcode TaskStore}: memory, SQLite and PostgreSQL must behave the same.
 * Each test gets a fresh store from the harness (a new file, a new schema).
 * Listing and counting are in `list_conformance.ts`, the shared-store part in
 * `shared_conformance.ts`, what they share in `_store_fixtures.ts`; the store
 * tests import all of it from here.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { v7 as uuidv7 } from "uuid";
import type { TaskStatus } from "../../engine/model/task.ts";
import { normalizeQuery } from "../../engine/model/query.ts";
import {
  changed,
  type ConformanceOptions,
  conformanceTest,
  makeSchedule,
  makeTask,
  withStore,
} from "./_store_fixtures.ts";
import { listConformance } from "./list_conformance.ts";

export {
  changed,
  type ConformanceOptions,
  makeSchedule,
  makeTask,
  type StoreHarness,
  withStore,
} from "./_store_fixtures.ts";
export { sharedStoreConformance } from "./shared_conformance.ts";

const FINISHED: TaskStatus[] = ["succeeded", "failed", "cancelled"];

/** Registers the suite for one store kind with `Deno.test`. */
export function storeConformance(options: ConformanceOptions): void {
  const test = conformanceTest(options);

  test("open on an empty store returns no tasks", async (harness) => {
    const store = harness.create();
    try {
      assertEquals(await store.open(), []);
      assertEquals(await store.counts(), {
        blocked: 0,
        scheduled: 0,
        queued: 0,
        running: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
      });
    } finally {
      await store.close();
      await harness.cleanup();
    }
  });

  test("a blocked task keeps what it depends on; getMany finds the ones that exist", (harness) =>
    withStore(harness, async (store) => {
      const parent = makeTask();
      const child = makeTask({
        status: "blocked",
        dependsOn: [parent.id],
        onParentFailure: "run",
      });
      await store.insert([{ ...parent }, { ...child }]);
      assertEquals(await store.get(child.id), child);
      const found = await store.getMany([child.id, uuidv7(), parent.id]);
      assertEquals(found.map((task) => task.id).sort(), [parent.id, child.id].sort());
      assertEquals((await store.counts()).blocked, 1);
    }));

  test("dependents lists a task's children newest first, up to the limit", (harness) =>
    withStore(harness, async (store) => {
      const first = makeTask();
      const second = makeTask();
      const children = [
        makeTask({ status: "blocked", dependsOn: [first.id], onParentFailure: "cancel" }),
        makeTask({ status: "blocked", dependsOn: [first.id, second.id], onParentFailure: "run" }),
        makeTask({ status: "blocked", dependsOn: [second.id], onParentFailure: "cancel" }),
      ];
      await store.insert([first, second, ...children].map((task) => ({ ...task })));
      const ids = async (id: string, limit = 10) =>
        (await store.dependents(id, limit)).map((task) => task.id);
      assertEquals(await ids(first.id), [children[1].id, children[0].id]);
      assertEquals(await ids(second.id), [children[2].id, children[1].id]);
      assertEquals(await ids(second.id, 1), [children[2].id]);
      assertEquals(await ids(children[0].id), []);
      assertEquals(await ids(uuidv7()), []);
      assertEquals(await ids("not-an-id"), []);
      assertEquals((await store.dependents(first.id, 10))[1], children[0]);
    }));

  test("type controls are saved: a change keeps the fields it does not name", (harness) =>
    withStore(harness, async (store) => {
      assertEquals(await store.typeControls(), []);
      assertEquals(await store.saveTypeControl("fib", { paused: true }), {
        type: "fib",
        paused: true,
        limits: null,
      });
      assertEquals(await store.saveTypeControl("fib", { limits: { concurrency: 2 } }), {
        type: "fib",
        paused: true,
        limits: { concurrency: 2 },
      });
      await store.saveTypeControl("noop", { limits: { ratePerSecond: 5, burst: 2 } });
      assertEquals(await store.saveTypeControl("fib", { paused: false, limits: null }), {
        type: "fib",
        paused: false,
        limits: null,
      });
      const saved = (await store.typeControls()).sort((a, b) => a.type < b.type ? -1 : 1);
      assertEquals(saved, [
        { type: "fib", paused: false, limits: null },
        { type: "noop", paused: false, limits: { ratePerSecond: 5, burst: 2 } },
      ]);
    }));

  test("insert then get round-trips every field, JSON and bytes", (harness) =>
    withStore(harness, async (store) => {
      const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
      const tasks = [
        makeTask({ payload: { nested: { list: [1, "two", null, true] }, text: "héllo ✓" } }),
        makeTask({ payload: bytes, priority: 10, idempotencyKey: "key-1", nodeId: "n1" }),
        makeTask({ payload: undefined, result: undefined, status: "scheduled", runAt: 1e13 }),
        makeTask({ payload: "\u0000 nul and \\ backslash", maxAttempts: 3, timeoutMs: 5 }),
      ];
      const outcomes = await store.insert(tasks.map((t) => ({ ...t })));
      assertEquals(outcomes.map((o) => o.created), [true, true, true, true]);
      for (const task of tasks) assertEquals(await store.get(task.id), task);
      const stored = await store.get(tasks[1].id);
      assert(stored?.payload instanceof Uint8Array);
      assertEquals([...stored.payload as Uint8Array], [...bytes]);
      assertEquals(await store.get(uuidv7()), undefined);
    }));

  test("idempotency keys are unique: a second insert returns the first task", (harness) =>
    withStore(harness, async (store) => {
      const first = makeTask({ idempotencyKey: "order-42" });
      const [a] = await store.insert([first]);
      assertEquals(a.created, true);
      const second = makeTask({ idempotencyKey: "order-42", payload: { other: true } });
      const [b, c] = await store.insert([second, makeTask({ idempotencyKey: "order-43" })]);
      assertEquals(b.created, false);
      assertEquals(b.task.id, first.id);
      assertEquals(b.task.payload, first.payload);
      assertEquals(c.created, true);
      assertEquals(await store.get(second.id), undefined);
      assertEquals((await store.getByIdempotencyKey("order-42"))?.id, first.id);
      assertEquals(await store.getByIdempotencyKey("nope"), undefined);
      // Twice in one batch: the second is the first.
      const x = makeTask({ idempotencyKey: "dup" });
      const y = makeTask({ idempotencyKey: "dup" });
      const [ox, oy] = await store.insert([x, y]);
      assertEquals([ox.created, oy.created], [true, false]);
      assertEquals(oy.task.id, x.id);
      // Concurrent inserts in one event-loop turn agree too.
      const racers = [makeTask({ idempotencyKey: "race" }), makeTask({ idempotencyKey: "race" })];
      const raced = await Promise.all(racers.map((t) => store.insert([t])));
      assertEquals(raced.map(([o]) => o.created), [true, false]);
      assertEquals(raced[1][0].task.id, racers[0].id);
    }));

  test(
    "insert is all or none: a failing batch stores nothing",
    (harness) =>
      withStore(harness, async (store) => {
        const existing = makeTask();
        await store.insert([existing]);
        const fresh = makeTask();
        const again = { ...existing, payload: "a second task with the same id" };
        let failed = false;
        const okTask = makeTask();
        // Issued in the same turn: the good call must not be dragged down.
        const good = store.insert([okTask]);
        try {
          await store.insert([fresh, again]);
        } catch {
          failed = true;
        }
        await good;
        assert(failed, "inserting a duplicate id must fail");
        assertEquals(await store.get(fresh.id), undefined);
        assertEquals((await store.get(existing.id))?.payload, existing.payload);
        assertEquals((await store.get(okTask.id))?.id, okTask.id);
      }),
    true,
  );

  test("write records transitions; writes issued together apply in call order", (harness) =>
    withStore(harness, async (store) => {
      const task = makeTask({ maxAttempts: 2 });
      await store.insert([{ ...task }]);
      const running = changed(task, {
        status: "running",
        attempts: 1,
        startedAt: task.createdAt + 5,
        workerId: 3,
        nodeId: "node-a",
      });
      const progressed = changed(running, { progress: 0.5 });
      const done = changed(progressed, {
        status: "succeeded",
        progress: 1,
        result: new Uint8Array([9, 8, 7]),
        finishedAt: task.createdAt + 10,
      });
      // Not awaited one by one: the store must keep call order.
      await Promise.all([store.write([running]), store.write([progressed]), store.write([done])]);
      assertEquals(await store.get(task.id), done);
      const failed = changed(done, {
        status: "failed",
        result: null,
        error: { name: "TypeError", message: "boom", stack: "TypeError: boom\n    at x" },
      });
      await store.write([failed]);
      assertEquals(await store.get(task.id), failed);
      // Writing a task the store does not have is ignored.
      await store.write([makeTask()]);
      assertEquals((await store.counts()).failed, 1);
    }));

  test("reads see writes called before them", (harness) =>
    withStore(harness, async (store) => {
      const task = makeTask();
      const inserted = store.insert([{ ...task }]);
      const written = store.write([changed(task, { status: "running", attempts: 1 })]);
      const read = store.get(task.id);
      await Promise.all([inserted, written]);
      assertEquals((await read)?.status, "running");
    }));

  test(
    "reopen returns unfinished tasks oldest first",
    async (harness) => {
      const statuses: TaskStatus[] = [
        "queued",
        "succeeded",
        "scheduled",
        "running",
        "failed",
        "queued",
        "cancelled",
      ];
      const tasks = statuses.map((status) => makeTask({ status }));
      const first = harness.create();
      const second = harness.create();
      try {
        await first.open();
        // Inserted newest first: open() must sort by creation (id), not insertion.
        await first.insert([...tasks].reverse().map((t) => ({ ...t })));
        await first.close();
        const unfinished = await second.open();
        const expected = tasks.filter((t) => !FINISHED.includes(t.status));
        assertEquals(unfinished, expected);
      } finally {
        await first.close();
        await second.close();
        await harness.cleanup();
      }
    },
    true,
    true,
  );

  test("a task's attempt history and retryOf are written and read back", (harness) =>
    withStore(harness, async (store) => {
      const old = makeTask({ status: "failed", finishedAt: Date.now() });
      const task = makeTask({ retryOf: old.id, maxAttempts: 3 });
      await store.insert([{ ...old }, { ...task }]);
      assertEquals(await store.get(task.id), task);
      assertEquals((await store.get(old.id))?.history, undefined);
      const history = [{
        attempt: 1,
        workerId: 2,
        nodeId: "n1",
        startedAt: 1_000,
        finishedAt: 1_250,
        outcome: "failed" as const,
        error: { name: "TypeError", message: "boom ✓" },
      }];
      const retried = changed(task, {
        status: "scheduled",
        attempts: 1,
        startedAt: 1_000,
        workerId: 2,
        error: { name: "TypeError", message: "boom ✓" },
        history,
      });
      await store.write([retried]);
      assertEquals(await store.get(task.id), retried);
      const [listed] = (await store.list(normalizeQuery({ status: "scheduled" }))).tasks;
      assertEquals(listed.history, history);
      assertEquals(listed.retryOf, old.id);
    }));

  test("prune deletes old finished tasks, keeps at most maxFinished, in batches", (harness) =>
    withStore(harness, async (store) => {
      const base = Date.now() - 100_000;
      const unfinished = [makeTask({ status: "queued" }), makeTask({ status: "running" })];
      const finished = Array.from({ length: 10 }, () => makeTask({ status: "queued" }));
      await store.insert([...unfinished, ...finished].map((t) => ({ ...t })));
      // Finish them in order: finished[i] at base + i * 1000.
      for (const [i, task] of finished.entries()) {
        await store.write([
          changed(task, { status: FINISHED[i % 3], finishedAt: base + i * 1000 }),
        ]);
      }
      // Older than base + 3500: finished[0..3], but at most 2 per call.
      const options = { finishedBefore: base + 3500, maxFinished: 1000, batchSize: 2 };
      assertEquals(await store.prune(options), 2);
      assertEquals(await store.get(finished[0].id), undefined);
      assertEquals(await store.get(finished[1].id), undefined);
      assert(await store.get(finished[2].id));
      assertEquals(await store.prune(options), 2);
      assertEquals(await store.prune(options), 0);
      // Keep at most 4 finished: the oldest two of the six left go.
      assertEquals(await store.prune({ finishedBefore: 0, maxFinished: 4, batchSize: 100 }), 2);
      const left = await store.list({ status: FINISHED, limit: 1000 });
      assertEquals(left.tasks.map((t) => t.id).sort(), finished.slice(6).map((t) => t.id).sort());
      // Unfinished tasks are never pruned.
      assertEquals(
        await store.prune({ finishedBefore: Infinity, maxFinished: 0, batchSize: 100 }),
        4,
      );
      const counts = await store.counts();
      assertEquals([counts.queued, counts.running], [1, 1]);
      assertEquals(counts.succeeded + counts.failed + counts.cancelled, 0);
    }));

  test("schedules: insert once per name, update, list, delete; tasks keep their schedule", (harness) =>
    withStore(harness, async (store) => {
      const daily = makeSchedule({ name: "daily", nextRunAt: 5_000 });
      assertEquals(await store.insertSchedule(daily), true);
      assertEquals(await store.insertSchedule(makeSchedule({ name: "daily" })), false);
      await store.insertSchedule(makeSchedule({ name: "alpha", nextRunAt: null }));
      assertEquals((await store.schedules()).map((s) => s.name), ["alpha", "daily"]);
      assertEquals(await store.getSchedule("daily"), daily);
      assertEquals(await store.getSchedule("nope"), undefined);
      const update = {
        cron: "@every 5s",
        timezone: "Europe/Paris",
        task: { type: "fib", payload: { n: 3 }, priority: 9 },
        overlap: "skip" as const,
        catchUp: "all" as const,
        paused: true,
        updatedAt: 2_000,
      };
      const kept = await store.updateSchedule("daily", update);
      assertEquals(kept, { ...daily, ...update }); // nextRunAt kept when not given
      const moved = await store.updateSchedule("daily", { ...update, nextRunAt: 9_000 });
      assertEquals(moved?.nextRunAt, 9_000);
      assertEquals(await store.updateSchedule("nope", update), undefined);
      assertEquals(await store.deleteSchedule("alpha"), true);
      assertEquals(await store.deleteSchedule("alpha"), false);
      assertEquals((await store.schedules()).map((s) => s.name), ["daily"]);

      const fired = makeTask({
        idempotencyKey: "schedule:daily:1970-01-01T00:00:05.000Z",
        schedule: { name: "daily", tick: 5_000 },
      });
      await store.insert([{ ...fired }]);
      assertEquals((await store.get(fired.id))?.schedule, { name: "daily", tick: 5_000 });
      const [again] = await store.insert([makeTask({ idempotencyKey: fired.idempotencyKey })]);
      assertEquals([again.created, again.task.id], [false, fired.id]);
    }));

  test("schedules: a due one is claimed by one owner at a time, advanced only from its tick", (harness) =>
    withStore(harness, async (store) => {
      await store.insertSchedule(makeSchedule({ name: "a", nextRunAt: 1_000 }));
      await store.insertSchedule(makeSchedule({ name: "b", nextRunAt: 3_000 }));
      await store.insertSchedule(makeSchedule({ name: "paused", nextRunAt: 500, paused: true }));
      await store.insertSchedule(makeSchedule({ name: "never", nextRunAt: null }));
      assertEquals(await store.nextScheduleAt(), 1_000);
      assertEquals(await store.claimDueSchedules(999, "n1", 10_000, 10), []);
      const claimed = await store.claimDueSchedules(3_000, "n1", 10_000, 10);
      assertEquals(claimed.map((s) => s.name), ["a", "b"]);
      // Leased: nobody else takes them until the lease ends, and the wake-up waits for it.
      assertEquals(await store.claimDueSchedules(3_001, "n2", 10_000, 10), []);
      assertEquals(await store.nextScheduleAt(), 13_000);
      const advance = { nextRunAt: 2_000, lastTick: 1_000, lastTaskId: uuidv7() };
      assertEquals(await store.advanceSchedule("a", 999, advance), false);
      assertEquals(await store.advanceSchedule("a", 1_000, advance), true);
      assertEquals(await store.advanceSchedule("a", 1_000, advance), false);
      const a = await store.getSchedule("a");
      assertEquals([a?.nextRunAt, a?.lastTick, a?.lastTaskId], [2_000, 1_000, advance.lastTaskId]);
      assertEquals(await store.nextScheduleAt(), 2_000);
      // Advanced frees the lease; b's lease lapses at 13 000.
      assertEquals((await store.claimDueSchedules(3_001, "n2", 10_000, 10)).map((s) => s.name), [
        "a",
      ]);
      assertEquals((await store.claimDueSchedules(13_000, "n2", 10_000, 1)).map((s) => s.name), [
        "b",
      ]);
    }));

  test("data survives close and reopen; close completes pending writes", (harness) => {
    const check = async () => {
      const first = harness.create();
      await first.open();
      const a = makeTask({ payload: new Uint8Array([1, 2, 3]) });
      const b = makeTask({ idempotencyKey: "durable" });
      const c = makeTask({ status: "scheduled", runAt: Date.now() + 3_600_000 });
      await first.insert([a, b, c].map((t) => ({ ...t })));
      // Not awaited: close() must finish it first.
      const pending = first.write([
        changed(a, { status: "succeeded", result: { ok: true }, finishedAt: Date.now() }),
        changed(b, { status: "running", attempts: 1, startedAt: Date.now() }),
      ]);
      await first.close();
      await pending;
      const second = harness.create();
      try {
        const unfinished = await second.open();
        if (second.kind === "local") {
          assertEquals(unfinished.map((t) => [t.id, t.status]), [
            [b.id, "running"],
            [c.id, "scheduled"],
          ]);
          assertEquals(unfinished[1].runAt, c.runAt);
        } else {
          assertEquals(unfinished, []); // a shared store's queue stays in the database
          assertEquals((await second.get(b.id))?.status, "running");
          assertEquals((await second.get(c.id))?.runAt, c.runAt);
        }
        assertEquals((await second.get(a.id))?.result, { ok: true });
        assertEquals((await second.getByIdempotencyKey("durable"))?.id, b.id);
        const [again] = await second.insert([makeTask({ idempotencyKey: "durable" })]);
        assertEquals(again.created, false);
      } finally {
        await second.close();
      }
    };
    return check().finally(() => harness.cleanup());
  }, true);

  listConformance(test);
}
