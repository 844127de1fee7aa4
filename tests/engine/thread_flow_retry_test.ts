/**
 * Automatic retries with exponential backoff, and manual retry().
 */

import { QueueFullError, TaskConflictError } from "../../engine/model/errors.ts";
import type { TaskEvent } from "../../engine/model/events.ts";
import { assert, assertEquals, assertRejects, EventLog, startEngine, waitFor } from "./_helpers.ts";

Deno.test("retry: a task failing its first two attempts succeeds on the third, same id and priority", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 40, maxBackoffMs: 10_000 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({
      type: "flaky",
      payload: { succeedOn: 3 },
      maxAttempts: 3,
      priority: 8,
    });
    const done = await tf.wait(task.id);
    assertEquals(done.status, "succeeded");
    assertEquals(done.result, { attempt: 3 });
    assertEquals(done.attempts, 3);
    assertEquals(done.id, task.id);
    assertEquals(done.priority, 8);
    const events = log.tasks(undefined, task.id).filter((e) => e.type !== "task.progress");
    assertEquals(events.map((e) => e.type), [
      "task.queued",
      "task.started",
      "task.retrying",
      "task.queued",
      "task.started",
      "task.retrying",
      "task.queued",
      "task.started",
      "task.succeeded",
    ]);
    for (const event of events) {
      assertEquals(event.task.id, task.id);
      assertEquals(event.task.priority, 8);
    }
    const retrying = log.tasks("task.retrying", task.id);
    retrying.forEach((event: TaskEvent, i) => {
      assertEquals(event.task.status, "scheduled", "backoff delays the retry");
      assertEquals(event.task.error?.message, `attempt ${i + 1} fails on purpose`);
      assertEquals(event.task.attempts, i + 1);
      // Backoff: 40 ms × 2^(attempt-1), ±50% jitter. runAt is set from a clock read a moment
      // before the event's `at`, hence the slack below the lower bound.
      const delay = event.task.runAt - event.at;
      const base = 40 * 2 ** i;
      assert(
        delay >= Math.floor(base * 0.5) - 10 && delay <= Math.ceil(base * 1.5) + 1,
        `delay ${delay}`,
      );
    });
    const starts = log.tasks("task.started", task.id);
    for (let i = 1; i < starts.length; i++) {
      assert(starts[i].at >= retrying[i - 1].task.runAt, "a retry never starts before its runAt");
      assertEquals(starts[i].task.attempts, i + 1);
    }
    assertEquals(log.terminals(task.id).length, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("retry: backoff is capped by maxBackoffMs", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 100_000, maxBackoffMs: 30 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "flaky", payload: { succeedOn: 4 }, maxAttempts: 4 });
    assertEquals((await tf.wait(task.id)).status, "succeeded");
    const retrying = log.tasks("task.retrying", task.id);
    assertEquals(retrying.length, 3);
    for (const event of retrying) {
      const delay = event.task.runAt - event.at;
      assert(delay <= 31, `delay ${delay} is over the cap`);
    }
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("retry: with backoffMs 0 a failed attempt is queued again at once", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 0 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "flaky", payload: { succeedOn: 2 }, maxAttempts: 2 });
    assertEquals((await tf.wait(task.id)).attempts, 2);
    const [retrying] = log.tasks("task.retrying", task.id);
    assertEquals(retrying.task.status, "queued");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("retry: when attempts run out the task fails once, with the last error", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 1 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "flaky", payload: { succeedOn: 5 }, maxAttempts: 2 });
    const failed = await tf.wait(task.id);
    assertEquals(failed.status, "failed");
    assertEquals(failed.attempts, 2);
    assertEquals(failed.error?.message, "attempt 2 fails on purpose");
    assertEquals(log.terminals(task.id).length, 1);
    assertEquals(log.tasks("task.retrying", task.id).length, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("retry: defaultMaxAttempts applies to tasks that set none", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 1, defaultMaxAttempts: 3 });
  try {
    const task = await tf.submit({ type: "flaky", payload: { succeedOn: 3 } });
    assertEquals(task.maxAttempts, 3);
    assertEquals((await tf.wait(task.id)).result, { attempt: 3 });
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test({
  name: "retry: a task that succeeds after failed attempts carries no error",
  // Regression (found by this suite, fixed in 81994bf): a task that succeeded on a retry kept the
  // previous attempt's error.
  async fn() {
    const tf = await startEngine({ workers: 1, backoffMs: 1 });
    try {
      const task = await tf.submit({ type: "flaky", payload: { succeedOn: 2 }, maxAttempts: 2 });
      const done = await tf.wait(task.id);
      assertEquals(done.status, "succeeded");
      assertEquals(done.error, null);
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});

Deno.test("retry(): a failed task runs again with the same id and priority and fresh attempts", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "throws", priority: 3 });
    const failed = await tf.wait(task.id);
    assertEquals(failed.status, "failed");
    const retried = await tf.retry(task.id);
    assertEquals(retried.id, task.id);
    assertEquals(retried.priority, 3);
    // The snapshot is taken after the pool was filled: the idle worker may have it already.
    assert(retried.status === "queued" || retried.status === "running", retried.status);
    assertEquals(retried.attempts, retried.status === "queued" ? 0 : 1);
    assertEquals(retried.error, null);
    assertEquals(retried.finishedAt, null);
    const again = await tf.wait(task.id);
    assertEquals(again.status, "failed");
    assertEquals(again.attempts, 1);
    assertEquals(log.tasks(undefined, task.id).map((e) => e.type), [
      "task.queued",
      "task.started",
      "task.failed",
      "task.retrying",
      "task.started",
      "task.failed",
    ]);
    const stats = await tf.stats();
    assertEquals(stats.counts.failed, 1, "one task, counted once");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("retry(): a cancelled task runs again and can succeed", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const task = await tf.submit({ type: "noop", payload: "again", delayMs: 60_000 });
    await tf.cancel(task.id);
    await tf.retry(task.id);
    const done = await tf.wait(task.id);
    assertEquals(done.status, "succeeded");
    assertEquals(done.result, "again");
    assertEquals((await tf.stats()).counts.cancelled, 0);
    assertEquals((await tf.stats()).counts.succeeded, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("retry(): only failed or cancelled tasks; queue limits apply", async () => {
  const tf = await startEngine({ workers: 1, maxQueued: 1 });
  const log = new EventLog(tf);
  try {
    const done = await tf.wait((await tf.submit({ type: "noop" })).id);
    const conflict = await assertRejects(() => tf.retry(done.id), TaskConflictError);
    assert(conflict.message.includes("succeeded"), conflict.message);

    const failed = await tf.wait((await tf.submit({ type: "throws" })).id);
    const blocker = await tf.submit({ type: "hold" });
    await waitFor(() => log.tasks("task.started", blocker.id).length > 0, "the blocker to start");
    await assertRejects(() => tf.retry(blocker.id), TaskConflictError, "running");
    const queued = await tf.submit({ type: "noop" });
    await assertRejects(() => tf.retry(queued.id), TaskConflictError, "queued");
    await assertRejects(() => tf.retry(failed.id), QueueFullError);
    assertEquals((await tf.get(failed.id))?.status, "failed", "unchanged");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});
