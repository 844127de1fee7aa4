/**
 * The store conformance suite's reads over many tasks: listing (order,
 * filters, sorts, cursors, totals) and counting by status and by type. Run
 * by {@linkcode storeConformance} for every store kind.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { Task, TaskStatus } from "../../engine/model/task.ts";
import { normalizeQuery, type TaskQuery } from "../../engine/model/query.ts";
import { changed, type ConformanceTest, makeTask, withStore } from "./_store_fixtures.ts";

/**
 * Registers the listing part of the store suite with `test`: pages, filters,
 * sorts and totals, and the counts by status and by type.
 */
export function listConformance(test: ConformanceTest): void {
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
}
