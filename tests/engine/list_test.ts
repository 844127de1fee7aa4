/**
 * Listing through the engine: the total matching (from the store's counts
 * when only statuses filter, else counted), sorts and the id prefix, and the
 * errors that name a bad sort, prefix or cursor.
 */

import { ValidationError } from "../../engine/model/errors.ts";
import { assertEquals, assertRejects, startEngine } from "./_helpers.ts";

Deno.test("list: the total matches what paging finds, with and without filters", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const later = { delayMs: 600_000 };
    await tf.submitBatch([
      { type: "noop", priority: 2, ...later },
      { type: "noop", priority: 9, ...later },
      { type: "fib", payload: { n: 3 }, priority: 9, ...later },
    ]);
    await tf.wait((await tf.submit({ type: "noop" })).id);
    const total = async (query: Parameters<typeof tf.list>[0]) =>
      (await tf.list({ ...query, withTotal: true, limit: 1 })).total;
    assertEquals(await total({}), 4);
    assertEquals(await total({ status: ["scheduled", "scheduled"] }), 3);
    assertEquals(await total({ status: ["scheduled", "succeeded"] }), 4);
    assertEquals(await total({ type: "noop" }), 3);
    assertEquals(await total({ priority: 9, status: "scheduled" }), 2);
    assertEquals((await tf.list({})).total, undefined);
    const byPriority = await tf.list({ sort: "priority", status: "scheduled" });
    assertEquals(byPriority.tasks.map((task) => task.priority), [9, 9, 2]);
  } finally {
    await tf.close();
  }
});

Deno.test("list: a bad sort, id prefix or cursor is a ValidationError naming the field", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const field = async (query: Record<string, unknown>) => {
      const error = await assertRejects(() => tf.list(query as never), ValidationError);
      return (error as ValidationError).field;
    };
    assertEquals(await field({ sort: "fastest" }), "sort");
    assertEquals(await field({ idPrefix: "xyz" }), "idPrefix");
    assertEquals(await field({ idPrefix: "0123-4567" }), "idPrefix");
    assertEquals(await field({ sort: "runTime", cursor: "bm90IGEgY3Vyc29y" }), "cursor");
    // An id or its start, with or without its dashes, in either case.
    const [one] = await tf.submitBatch([{ type: "noop" }, { type: "noop" }]);
    for (const prefix of [one.id, one.id.replaceAll("-", "").slice(0, 32), one.id.toUpperCase()]) {
      assertEquals((await tf.list({ idPrefix: prefix })).tasks.map((task) => task.id), [one.id]);
    }
    assertEquals((await tf.list({ idPrefix: one.id.slice(0, 4) })).tasks.length, 2);
  } finally {
    await tf.close();
  }
});
