/**
 * The store conformance suite, written once and run against every
 * {@linkcode TaskStore}: memory, SQLite and PostgreSQL must behave the same.
 * Each test gets a fresh store from the harness (a new file, a new schema).
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { v7 as uuidv7 } from "uuid";
import type { Task, TaskStatus } from "../../engine/model/task.ts";
import { normalizeQuery, type TaskQuery } from "../../engine/model/query.ts";
import type { TaskStore } from "../../engine/store/store.ts";
import type { StoredSchedule } from "../../engine/model/schedule.ts";
import type { SharedTaskStore } from "../../engine/store/shared_store.ts";

/** Makes stores for one test and cleans up after it. */
export interface StoreHarness {
  /** A new store object, not opened. Over the same data as earlier ones from this harness. */
  create(): TaskStore;
  /** Deletes what the test left (files, schema). Stores are closed first. */
  cleanup(): Promise<void>;
}

/** How to run the suite against one kind of store. */
export interface ConformanceOptions {
  /** Test name prefix, e.g. `sqlite`. */
  name: string;
  /** A fresh harness per test. */
  harness(): Promise<StoreHarness>;
  /** Data survives close + reopen (durable stores). */
  durable: boolean;
  /** A shared store: `open()` returns `[]` (the queue stays in the database). */
  shared?: boolean;
  /** Skip everything, with this reason, when a prerequisite is missing. */
  ignore?: string;
}

const FINISHED: TaskStatus[] = ["succeeded", "failed", "cancelled"];

/** A task as the engine would insert it; `overrides` win. */
export function makeTask(overrides: Partial<Task> = {}): Task {
  const now = Date.now();
  return {
    id: uuidv7(),
    type: "noop",
    payload: { n: 1 },
    priority: 5,
    status: "queued",
    attempts: 0,
    maxAttempts: 1,
    timeoutMs: 60_000,
    progress: null,
    result: null,
    error: null,
    createdAt: now,
    runAt: now,
    startedAt: null,
    finishedAt: null,
    workerId: null,
    idempotencyKey: null,
    nodeId: null,
    ...overrides,
  };
}

/** A schedule as the engine would save it; `overrides` win. */
export function makeSchedule(overrides: Partial<StoredSchedule> = {}): StoredSchedule {
  return {
    name: "every-minute",
    cron: "* * * * *",
    timezone: "UTC",
    task: { type: "noop" },
    overlap: "allow",
    catchUp: "latest",
    paused: false,
    createdAt: 1_000,
    updatedAt: 1_000,
    nextRunAt: 60_000,
    lastTick: null,
    lastTaskId: null,
    ...overrides,
  };
}

/** A copy of `task` with `changes`, as the engine writes after a transition. */
export function changed(task: Task, changes: Partial<Task>): Task {
  return { ...task, ...changes };
}

/**
 * Opens a store from `harness`, runs `fn`, and closes it (and cleans up) even
 * when `fn` throws.
 */
export async function withStore<S extends TaskStore = TaskStore>(
  harness: StoreHarness,
  fn: (store: S) => Promise<void>,
): Promise<void> {
  const store = harness.create() as S;
  try {
    await store.open();
    await fn(store);
  } finally {
    await store.close();
    await harness.cleanup();
  }
}

/** Registers the suite for one store kind with `Deno.test`. */
export function storeConformance(options: ConformanceOptions): void {
  const test = (
    name: string,
    fn: (harness: StoreHarness) => Promise<void>,
    durable = false,
    localOnly = false,
  ) => {
    Deno.test({
      name: `${options.name}: ${name}`,
      ignore: options.ignore !== undefined || (durable && !options.durable) ||
        (localOnly && options.shared === true),
      fn: async () => fn(await options.harness()),
    });
  };

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

  test("list is newest first, filters combine, and the cursor pages without gaps", (harness) =>
    withStore(harness, async (store) => {
      const types = ["fib", "sleep", "noop"];
      const statuses: TaskStatus[] = ["queued", "running", "succeeded", "failed"];
      const tasks = Array.from(
        { length: 37 },
        (_, i) =>
          makeTask({
            type: types[i % 3],
            status: statuses[i % 4],
            priority: 1 + (i % 10),
          }),
      );
      await store.insert(tasks.map((t) => ({ ...t })));
      const newestFirst = [...tasks].reverse();
      const list = (query: TaskQuery) => store.list(normalizeQuery(query));

      const all = await list({ limit: 1000 });
      assertEquals(all.tasks.map((t) => t.id), newestFirst.map((t) => t.id));
      assertEquals(all.nextCursor, null);

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await list({ limit: 10, cursor });
        seen.push(...page.tasks.map((t) => t.id));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor !== undefined);
      assertEquals(pages, 4);
      assertEquals(seen, newestFirst.map((t) => t.id));

      const exact = await list({ limit: 37 });
      assertEquals(exact.tasks.length, 37);
      assertEquals(exact.nextCursor, null);

      const match = (t: Task) =>
        (t.type === "fib" || t.type === "noop") && ["queued", "failed"].includes(t.status) &&
        t.priority >= 3;
      const filtered = await list({
        type: ["fib", "noop"],
        status: ["queued", "failed"],
        priority: [3, 4, 5, 6, 7, 8, 9, 10],
        limit: 4,
      });
      const expected = newestFirst.filter(match).map((t) => t.id);
      assertEquals(filtered.tasks.map((t) => t.id), expected.slice(0, 4));
      const rest = await list({
        type: ["fib", "noop"],
        status: ["queued", "failed"],
        priority: [3, 4, 5, 6, 7, 8, 9, 10],
        limit: 1000,
        cursor: filtered.nextCursor!,
      });
      assertEquals(rest.tasks.map((t) => t.id), expected.slice(4));

      const defaultPage = await list({});
      assertEquals(defaultPage.tasks.length, 37);
      assertEquals((await list({ status: ["cancelled"] })).tasks, []);
    }));

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

  test("counts tasks by type and status", (harness) =>
    withStore(harness, async (store) => {
      const tasks = [
        makeTask({ type: "fib", status: "queued" }),
        makeTask({ type: "fib", status: "failed", finishedAt: 1 }),
        makeTask({ type: "fib", status: "failed", finishedAt: 2 }),
        makeTask({ type: "noop", status: "running" }),
      ];
      await store.insert(tasks.map((t) => ({ ...t })));
      await store.write([changed(tasks[3], { status: "succeeded", finishedAt: 3 })]);
      const byType = await store.countsByType();
      assertEquals(Object.keys(byType).sort(), ["fib", "noop"]);
      assertEquals(byType.fib.queued, 1);
      assertEquals(byType.fib.failed, 2);
      assertEquals(byType.fib.running, 0);
      assertEquals(byType.noop.succeeded, 1);
      assertEquals(byType.noop.running, 0);
    }));

  test("list sorts by priority and run time, finds an id prefix, and counts the total", (harness) =>
    withStore(harness, async (store) => {
      const run = (ms: number | null) =>
        ms === null
          ? {}
          : { status: "succeeded" as const, startedAt: 1_000, finishedAt: 1_000 + ms };
      const tasks = [
        makeTask({ priority: 3, ...run(50) }),
        makeTask({ priority: 9, ...run(5) }),
        makeTask({ priority: 3, ...run(null) }),
        makeTask({ priority: 9, type: "fib", ...run(500) }),
        makeTask({ priority: 1, ...run(50) }),
      ];
      await store.insert(tasks.map((t) => ({ ...t })));
      const ids = async (query: TaskQuery) =>
        (await store.list(normalizeQuery(query))).tasks.map((task) =>
          tasks.findIndex((t) => t.id === task.id)
        );
      assertEquals(await ids({ sort: "priority" }), [3, 1, 2, 0, 4]);
      assertEquals(await ids({ sort: "runTime" }), [3, 4, 0, 1, 2]);
      assertEquals(await ids({ sort: "created" }), [4, 3, 2, 1, 0]);
      // Pages of a sort follow on without gaps.
      const first = await store.list(
        normalizeQuery({ sort: "priority", limit: 2, withTotal: true }),
      );
      assertEquals(first.total, 5);
      assert(first.nextCursor !== null);
      const second = await store.list(
        normalizeQuery({ sort: "priority", limit: 2, cursor: first.nextCursor }),
      );
      assertEquals(second.total, undefined);
      assertEquals(second.tasks.map((t) => t.id), [tasks[2].id, tasks[0].id]);
      // A prefix, the whole id, and no match; filters combine with the total.
      assertEquals(await ids({ idPrefix: tasks[2].id }), [2]);
      assertEquals(await ids({ idPrefix: tasks[2].id.toUpperCase().slice(0, 36) }), [2]);
      const shared = tasks[0].id.slice(0, 8);
      assertEquals(
        (await ids({ idPrefix: shared })).length,
        tasks.filter((t) => t.id.startsWith(shared)).length,
      );
      const none = await store.list(
        normalizeQuery({ idPrefix: "ffffffff-ff", withTotal: true }),
      );
      assertEquals([none.tasks.length, none.total], [0, 0]);
      const fibs = await store.list(
        normalizeQuery({ type: "fib", priority: 9, withTotal: true, limit: 1 }),
      );
      assertEquals([fibs.tasks.map((t) => t.id), fibs.total], [[tasks[3].id], 1]);
      const nines = await store.list(normalizeQuery({ priority: 9, withTotal: true, limit: 1 }));
      assertEquals(nines.total, 2);
    }));

  test("counts tasks by status", (harness) =>
    withStore(harness, async (store) => {
      const tasks = [
        makeTask({ status: "queued" }),
        makeTask({ status: "queued" }),
        makeTask({ status: "scheduled", runAt: Date.now() + 60_000 }),
        makeTask({ status: "running" }),
      ];
      await store.insert(tasks.map((t) => ({ ...t })));
      await store.write([changed(tasks[1], { status: "cancelled", finishedAt: Date.now() })]);
      // Neither a duplicate key nor a write of an unknown task changes the counts.
      await store.insert([makeTask({ idempotencyKey: "counted" })]);
      await store.insert([makeTask({ idempotencyKey: "counted", status: "running" })]);
      await store.write([makeTask({ status: "failed" })]);
      await store.write([changed(tasks[0], { status: "running" })]);
      await store.write([changed(tasks[0], { status: "queued" })]);
      assertEquals(await store.counts(), {
        blocked: 0,
        scheduled: 1,
        queued: 2,
        running: 1,
        succeeded: 0,
        failed: 0,
        cancelled: 1,
      });
      await store.write([changed(tasks[3], { status: "succeeded", finishedAt: Date.now() })]);
      await store.prune({ finishedBefore: Infinity, maxFinished: 0, batchSize: 10 });
      assertEquals(await store.counts(), {
        blocked: 0,
        scheduled: 1,
        queued: 2,
        running: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
      });
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
}

/** Registers the shared-store part of the suite (claiming, leases, fencing, messages). */
export function sharedStoreConformance(
  options: Omit<ConformanceOptions, "durable"> & { harness(): Promise<StoreHarness> },
): void {
  const test = (name: string, fn: (harness: StoreHarness) => Promise<void>) => {
    Deno.test({
      name: `${options.name}: ${name}`,
      ignore: options.ignore !== undefined,
      fn: async () => fn(await options.harness()),
    });
  };
  const shared = (harness: StoreHarness, fn: (store: SharedTaskStore) => Promise<void>) =>
    withStore<SharedTaskStore>(harness, fn);

  test("claim takes the highest priority first, then the oldest, and leases it", (harness) =>
    shared(harness, async (store) => {
      const tasks = [
        makeTask({ priority: 1 }),
        makeTask({ priority: 9 }),
        makeTask({ priority: 5 }),
        makeTask({ priority: 9 }),
        makeTask({ priority: 5, status: "scheduled", runAt: Date.now() + 60_000 }),
        makeTask({ priority: 10, runAt: Date.now() + 60_000 }),
      ];
      await store.insert(tasks);
      const claimed = await store.claim(3, "node-a", 15_000);
      assertEquals(claimed.map((c) => c.task.id), [tasks[1].id, tasks[3].id, tasks[2].id]);
      for (const c of claimed) {
        // Claimed is not running: a worker has not started it yet.
        assertEquals(c.task.status, "queued");
        assertEquals(c.task.attempts, 0);
        assertEquals(c.task.nodeId, "node-a");
        assertEquals(c.task.startedAt, null);
        assert(c.leaseExpiresAt > Date.now() + 10_000);
        assertEquals(typeof c.leaseToken, "string");
      }
      assertEquals(new Set(claimed.map((c) => c.leaseToken)).size, 3);
      const next = await store.claim(10, "node-b", 15_000);
      assertEquals(next.map((c) => c.task.id), [tasks[0].id]);
      assertEquals(await store.claim(10, "node-b", 15_000), []);
      assertEquals((await store.get(tasks[1].id))?.status, "queued");
    }));

  test("claim with aging orders by aged priority", (harness) =>
    shared(harness, async (store) => {
      const now = Date.now();
      const old = makeTask({ priority: 2, runAt: now - 10_000 });
      const fresh = makeTask({ priority: 9, runAt: now });
      await store.insert([fresh, old]);
      // 10 s at one level per second: the priority-2 task counts as 10 (capped) and is older.
      const claimed = await store.claim(2, "node-a", 15_000, 1_000);
      assertEquals(claimed.map((c) => c.task.id), [old.id, fresh.id]);
    }));

  test("concurrent claims from two stores never take the same task", (harness) =>
    shared(harness, async (a) => {
      const b = harness.create() as SharedTaskStore;
      await b.open();
      try {
        const tasks = Array.from({ length: 200 }, (_, i) => makeTask({ priority: 1 + (i % 10) }));
        await a.insert(tasks);
        const taken: string[] = [];
        const drain = async (store: SharedTaskStore, node: string) => {
          while (true) {
            const claimed = await store.claim(7, node, 15_000);
            if (claimed.length === 0) return;
            taken.push(...claimed.map((c) => c.task.id));
          }
        };
        await Promise.all([drain(a, "a"), drain(b, "b"), drain(a, "a2"), drain(b, "b2")]);
        assertEquals(taken.length, 200);
        assertEquals(new Set(taken).size, 200);
      } finally {
        await b.close();
      }
    }));

  test("fenced writes are refused once the lease is lost; renew keeps it", (harness) =>
    shared(harness, async (store) => {
      const task = makeTask({ maxAttempts: 3 });
      await store.insert([task]);
      const [claim] = await store.claim(1, "node-a", 15_000);
      const leases = await store.renewLeases("node-a", 30_000);
      assertEquals(leases.map((l) => [l.taskId, l.leaseToken]), [[task.id, claim.leaseToken]]);
      assert(leases[0].leaseExpiresAt >= claim.leaseExpiresAt);
      assertEquals(await store.renewLeases("node-b", 30_000), []);

      const started = changed(claim.task, {
        status: "running",
        attempts: 1,
        startedAt: Date.now(),
        workerId: 2,
      });
      assertEquals(await store.writeFenced([{ task: started, leaseToken: claim.leaseToken }]), []);
      const progress = changed(started, { progress: 0.25 });
      assertEquals(await store.writeFenced([{ task: progress, leaseToken: claim.leaseToken }]), []);
      assertEquals((await store.get(task.id))?.progress, 0.25);
      const stale = changed(progress, { status: "succeeded", finishedAt: Date.now() });
      assertEquals(
        await store.writeFenced([{ task: stale, leaseToken: crypto.randomUUID() }]),
        [task.id],
      );
      assertEquals((await store.get(task.id))?.status, "running");

      // Requeued by its node (attempt given back), still held; release hands it to any node.
      const requeued = changed(progress, { status: "queued", attempts: 0, startedAt: null });
      assertEquals(await store.writeFenced([{ task: requeued, leaseToken: claim.leaseToken }]), []);
      assertEquals((await store.claim(1, "node-b", 15_000)).length, 0, "still held by node-a");
      assertEquals(await store.release([claim.leaseToken]), [task.id]);
      const released = await store.get(task.id);
      assertEquals([released?.status, released?.attempts], ["queued", 0]);
      assertEquals(await store.writeFenced([{ task: stale, leaseToken: claim.leaseToken }]), [
        task.id,
      ]);

      // A completion with the live token ends the lease.
      const [again] = await store.claim(1, "node-b", 15_000);
      const done = changed(again.task, {
        status: "succeeded",
        attempts: 1,
        result: 42,
        startedAt: Date.now(),
        finishedAt: Date.now(),
      });
      assertEquals(await store.writeFenced([{ task: done, leaseToken: again.leaseToken }]), []);
      assertEquals(await store.get(task.id), done);
      assertEquals(await store.renewLeases("node-b", 15_000), []);
    }));

  test("expired leases are reclaimed: running ones requeued or failed, claimed ones freed", (harness) =>
    shared(harness, async (store) => {
      const retryable = makeTask({ maxAttempts: 2, priority: 9 });
      const lastTry = makeTask({ maxAttempts: 1, priority: 5 });
      const unstarted = makeTask({ maxAttempts: 1, priority: 1 });
      await store.insert([retryable, lastTry, unstarted]);
      const claims = await store.claim(3, "dead-node", 1);
      assertEquals(claims.length, 3);
      const running = claims.slice(0, 2).map((c) => ({
        task: changed(c.task, { status: "running" as const, attempts: 1, startedAt: Date.now() }),
        leaseToken: c.leaseToken,
      }));
      assertEquals(await store.writeFenced(running), []);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const reclaimed = await store.reclaimExpired();
      const byId = new Map(reclaimed.map((c) => [c.task.id, c]));
      assertEquals(byId.size, 2, "a claim that never started changes no status");
      assertEquals(byId.get(retryable.id)?.from, "running");
      assertEquals(byId.get(retryable.id)?.task.status, "queued");
      assertEquals(byId.get(retryable.id)?.task.attempts, 1);
      assertEquals(byId.get(lastTry.id)?.task.status, "failed");
      assertEquals(byId.get(lastTry.id)?.task.error?.name, "LeaseExpiredError");
      assert(byId.get(lastTry.id)?.task.finishedAt);
      assertEquals(await store.reclaimExpired(), []);
      // The zombie's completion is refused; the new owner's goes through.
      const zombie = changed(running[0].task, { status: "succeeded", finishedAt: Date.now() });
      assertEquals(await store.writeFenced([{ task: zombie, leaseToken: claims[0].leaseToken }]), [
        retryable.id,
      ]);
      const fresh = await store.claim(2, "live-node", 15_000);
      assertEquals(fresh.map((c) => [c.task.id, c.task.attempts]), [
        [retryable.id, 1],
        [unstarted.id, 0],
      ]);
      assertEquals(await store.reclaimExpired(), []);
    }));

  test("promoteDue queues scheduled tasks whose time came; cancel fences the runner", (harness) =>
    shared(harness, async (store) => {
      const now = Date.now();
      const due = makeTask({ status: "scheduled", runAt: now - 10 });
      const later = makeTask({ status: "scheduled", runAt: now + 3_600_000 });
      await store.insert([due, later]);
      const promoted = await store.promoteDue(now);
      assertEquals(promoted.map((c) => [c.task.id, c.from, c.task.status]), [
        [due.id, "scheduled", "queued"],
      ]);
      assertEquals(await store.promoteDue(now), []);

      const [claim] = await store.claim(1, "node-a", 15_000);
      const cancelled = await store.cancel(claim.task.id, {
        name: "CancelledError",
        message: "The task was cancelled.",
      });
      assertEquals(
        [cancelled?.from, cancelled?.task.status, cancelled?.heldBy],
        ["queued", "cancelled", "node-a"],
      );
      assert(cancelled?.task.finishedAt);
      assertEquals(cancelled?.task.error?.name, "CancelledError");
      const done = changed(claim.task, { status: "succeeded", finishedAt: Date.now() });
      assertEquals(await store.writeFenced([{ task: done, leaseToken: claim.leaseToken }]), [
        due.id,
      ]);
      assertEquals(await store.cancel(due.id), undefined);
      const laterCancel = await store.cancel(later.id);
      assertEquals([laterCancel?.from, laterCancel?.heldBy], ["scheduled", null]);
      assertEquals(await store.cancel(crypto.randomUUID()), undefined);
    }));

  test("cluster counts and depth follow every change without a scan", (harness) =>
    shared(harness, async (store) => {
      const now = Date.now();
      await store.insert([
        makeTask({ priority: 9, runAt: now - 500 }),
        makeTask({ priority: 9 }),
        makeTask({ priority: 2 }),
        makeTask({ status: "scheduled", runAt: now + 60_000 }),
      ]);
      let depth = await store.clusterDepth();
      assertEquals([depth.counts.queued, depth.counts.scheduled], [3, 1]);
      assertEquals([depth.queuedByPriority[9], depth.queuedByPriority[2]], [2, 1]);
      assertEquals(depth.oldestQueuedAt[9], now - 500);
      assertEquals(depth.oldestQueuedAt[5], null);
      const [claim] = await store.claim(1, "node-a", 15_000);
      const done = changed(claim.task, { status: "succeeded", attempts: 1, finishedAt: now });
      await store.writeFenced([{ task: done, leaseToken: claim.leaseToken }]);
      await store.compactCounts();
      depth = await store.clusterDepth();
      assertEquals([depth.counts.queued, depth.counts.succeeded], [2, 1]);
      assertEquals(depth.queuedByPriority[9], 1);
      assertEquals(await store.counts(), depth.counts);
    }));

  test("messages reach every subscriber; large events go by reference", (harness) =>
    shared(harness, async (a) => {
      const b = harness.create() as SharedTaskStore;
      await b.open();
      const received: unknown[] = [];
      let wake: () => void = () => {};
      const unsubscribe = await b.subscribe((message) => {
        received.push(message);
        wake();
      });
      const until = async (count: number) => {
        while (received.length < count) await new Promise<void>((resolve) => (wake = resolve));
      };
      try {
        const big = makeTask({ payload: { text: "x".repeat(20_000) } });
        await a.insert([big]); // queued: a work message
        await until(1);
        assertEquals(received[0], { kind: "work", origin: a.instanceId });
        const event = { type: "task.queued" as const, seq: 7, at: Date.now(), task: big };
        await a.publish({ kind: "event", origin: a.instanceId, event });
        await until(2);
        assertEquals(received[1], { kind: "event", origin: a.instanceId, event });
        await a.publish({ kind: "cancel", origin: a.instanceId, taskId: big.id, nodeId: "n" });
        await until(3);
        assertEquals(received[2], {
          kind: "cancel",
          origin: a.instanceId,
          taskId: big.id,
          nodeId: "n",
        });
      } finally {
        await unsubscribe();
        await b.close();
      }
    }));

  test("the node registry lists live nodes with their workers", (harness) =>
    shared(harness, async (store) => {
      const worker = {
        id: 0,
        nodeId: "node-a",
        state: "idle" as const,
        taskIds: [],
        progress: null,
        completed: 3,
        failed: 0,
        restarts: 0,
        startedAt: 1,
      };
      await store.heartbeat({ nodeId: "node-a", startedAt: 1, workers: [worker] });
      await store.heartbeat({ nodeId: "node-b", startedAt: 2, workers: [], info: { v: "1" } });
      await store.heartbeat({ nodeId: "node-a", startedAt: 1, workers: [worker, worker] });
      const nodes = await store.nodes();
      assertEquals(nodes.map((n) => [n.nodeId, n.workers.length]), [["node-a", 2], ["node-b", 0]]);
      assertEquals(nodes[1].info, { v: "1" });
      await store.removeNode("node-b");
      assertEquals((await store.nodes()).map((n) => n.nodeId), ["node-a"]);
      assert(store.healthy);
    }));
}
