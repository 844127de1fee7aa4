/**
 * ThreadFlow with real workers: what submit refuses (unknown types, a bad
 * batch, a full queue, a payload too large) and idempotency keys.
 */

import {
  PayloadTooLargeError,
  QueueFullError,
  UnknownTaskTypeError,
  ValidationError,
} from "../../engine/model/errors.ts";
import type { Task } from "../../engine/model/task.ts";
import { assert, assertEquals, assertRejects, EventLog, occupy, startEngine } from "./_helpers.ts";

Deno.test("thread flow: a second submit with the same key in one batch returns the first", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const [first, second] = await tf.submitBatch([
      { type: "noop", idempotencyKey: "same" },
      { type: "noop", idempotencyKey: "same" },
    ], { outcomes: true });
    assertEquals(first.created, true);
    assertEquals(second.created, false);
    assertEquals(second.task.id, first.task.id);
    await tf.wait(first.task.id);
    assertEquals((await tf.stats()).counts.succeeded, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: an unknown type is refused at submit and never reaches a worker", async () => {
  const tf = await startEngine();
  const log = new EventLog(tf);
  try {
    const error = await assertRejects(() => tf.submit({ type: "nope" }), UnknownTaskTypeError);
    assertEquals(error.field, "type");
    const batch = await assertRejects(
      () => tf.submitBatch([{ type: "noop" }, { type: "nope" }]),
      UnknownTaskTypeError,
    );
    assertEquals(batch.field, "tasks[1].type");
    assertEquals(log.tasks().length, 0, "no task was created");
    assertEquals((await tf.stats()).counts.queued, 0);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: submitBatch is all or nothing, errors name the index", async () => {
  const tf = await startEngine();
  try {
    const error = await assertRejects(
      () => tf.submitBatch([{ type: "noop" }, { type: "noop" }, { type: "noop", priority: 0 }]),
      ValidationError,
    );
    assertEquals(error.field, "tasks[2].priority");
    assertEquals((await tf.list({})).tasks.length, 0);
    const empty = await assertRejects(() => tf.submitBatch([]), ValidationError);
    assertEquals(empty.field, "tasks");
    const notArray = await assertRejects(
      () => tf.submitBatch({} as unknown as []),
      ValidationError,
    );
    assertEquals(notArray.field, "tasks");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: an idempotency key returns the first task", async () => {
  const tf = await startEngine();
  try {
    const first = await tf.submit({ type: "noop", payload: 1, idempotencyKey: "k-1" });
    const again = await tf.submit({ type: "noop", payload: 2, idempotencyKey: "k-1" });
    assertEquals(again.id, first.id);
    const [result] = await tf.submitBatch([{ type: "noop", idempotencyKey: "k-1" }], {
      outcomes: true,
    });
    assertEquals(result.created, false);
    assertEquals(result.task.id, first.id);
    assertEquals((await tf.wait(first.id)).result, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: QueueFullError at maxQueued; running tasks do not count", async () => {
  const tf = await startEngine({ workers: 1, maxQueued: 3 });
  const log = new EventLog(tf);
  try {
    const blocker = await occupy(tf, log);
    const queued: Task[] = [];
    for (let i = 0; i < 3; i++) queued.push(await tf.submit({ type: "noop" }));
    const error = await assertRejects(() => tf.submit({ type: "noop" }), QueueFullError);
    assertEquals(error.code, "queue_full");
    assert(error.retryAfterMs > 0);
    // Scheduled tasks count as waiting too.
    await assertRejects(() => tf.submit({ type: "noop", delayMs: 60_000 }), QueueFullError);
    await tf.cancel(queued[0].id);
    await assertRejects(
      () => tf.submitBatch([{ type: "noop" }, { type: "noop" }]),
      QueueFullError,
    );
    assertEquals((await tf.stats()).counts.queued, 2, "the batch added nothing");
    const fits = await tf.submit({ type: "noop" });
    await tf.cancel(blocker.id);
    await Promise.all([...queued.slice(1), fits].map((t) => tf.wait(t.id)));
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: PayloadTooLargeError at maxPayloadBytes, for JSON and bytes", async () => {
  const tf = await startEngine({ maxPayloadBytes: 1000 });
  try {
    const json = await assertRejects(
      () => tf.submit({ type: "noop", payload: { data: "x".repeat(1000) } }),
      PayloadTooLargeError,
    );
    assertEquals(json.field, "payload");
    assertEquals(json.code, "payload_too_large");
    await assertRejects(
      () => tf.submit({ type: "noop", payload: new Uint8Array(1001) }),
      PayloadTooLargeError,
    );
    const fits = await tf.submit({ type: "noop", payload: new Uint8Array(1000) });
    assertEquals((await tf.wait(fits.id)).status, "succeeded");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});
