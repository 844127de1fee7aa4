/**
 * Each attempt of a task is kept (worker, start, end, outcome, error) through
 * automatic retries and retries from the API, and each type's figures over
 * the last hour: run time, attempts succeeded and failed, the last error.
 */

import { attemptTimeline } from "../../engine/model/task.ts";
import { assert, assertEquals, startEngine } from "./_helpers.ts";

Deno.test("attempts: a flaky task's timeline lists each failed attempt, then the success", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 0 });
  try {
    const task = await tf.submit({ type: "flaky", payload: { succeedOn: 3 }, maxAttempts: 3 });
    const done = await tf.wait(task.id);
    assertEquals(done.status, "succeeded");
    assertEquals(done.history?.map((a) => [a.attempt, a.outcome]), [[1, "failed"], [2, "failed"]]);
    for (const attempt of done.history!) {
      assert(attempt.error !== null && attempt.error.message.length > 0, "an error per failure");
      assertEquals(attempt.workerId, 0);
      assert(attempt.finishedAt! >= attempt.startedAt, "ends after it starts");
    }
    const timeline = attemptTimeline(done);
    assertEquals(timeline.map((a) => [a.attempt, a.outcome]), [
      [1, "failed"],
      [2, "failed"],
      [3, "succeeded"],
    ]);
    assertEquals(timeline[2].error, null);
    // The stored task carries the same history.
    assertEquals((await tf.store.get(task.id))?.history, done.history);
  } finally {
    await tf.close();
  }
});

Deno.test("attempts: a retry from the API keeps the failed run in the timeline and counts from 1", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 0 });
  try {
    const task = await tf.submit({ type: "flaky", payload: { succeedOn: 2 }, maxAttempts: 1 });
    const failed = await tf.wait(task.id);
    assertEquals(failed.status, "failed");
    assertEquals(failed.history, undefined);
    assertEquals(attemptTimeline(failed).map((a) => a.outcome), ["failed"]);
    const retried = await tf.retry(task.id);
    assertEquals(retried.attempts, 0);
    assertEquals(attemptTimeline(retried).map((a) => [a.attempt, a.outcome]), [[1, "failed"]]);
    // The attempts start again from 1 (so this flaky task fails again): both runs are listed.
    const done = await tf.wait(task.id);
    assertEquals(done.attempts, 1);
    const timeline = attemptTimeline(done);
    assertEquals(timeline.map((a) => [a.attempt, a.outcome]), [[1, "failed"], [1, "failed"]]);
    assert(timeline[1].startedAt >= timeline[0].finishedAt!, "the retry's run comes second");
  } finally {
    await tf.close();
  }
});

Deno.test("attempts: a retry with changes is linked to the task it retries", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const old = await tf.wait((await tf.submit({ type: "fib", payload: { n: "x" } })).id);
    const again = await tf.submit({ type: "fib", payload: { n: 10 }, retryOf: old.id });
    assertEquals(again.retryOf, old.id);
    assertEquals((await tf.wait(again.id)).result, 55);
    let error: unknown;
    try {
      await tf.submit({ type: "fib", retryOf: "not an id" });
    } catch (caught) {
      error = caught;
    }
    assertEquals((error as { field?: string }).field, "retryOf");
  } finally {
    await tf.close();
  }
});

Deno.test("type stats: run time, attempts succeeded and failed, and the last error per type", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 0 });
  try {
    const good = await tf.submitBatch(
      Array.from({ length: 4 }, (_, i) => ({ type: "fib", payload: { n: 5 + i } })),
    );
    const bad = await tf.submit({ type: "fib", payload: { n: "bad" } });
    await Promise.all([...good, bad].map((task) => tf.wait(task.id)));
    const stats = await tf.typeStats();
    const fib = stats.find((entry) => entry.type === "fib")!;
    assertEquals(fib.counts.succeeded, 4);
    assertEquals(fib.counts.failed, 1);
    assertEquals(fib.lastHour, { succeeded: 4, failed: 1, failureRate: 0.2 });
    assertEquals(fib.runMs.count, 5);
    assert(fib.runMs.p95 >= fib.runMs.p50, "p95 is at least p50");
    assertEquals(fib.lastError?.taskId, bad.id);
    assert(fib.lastError!.message.length > 0, "the last error has its message");
    const noop = stats.find((entry) => entry.type === "noop")!;
    assertEquals(noop.lastHour, { succeeded: 0, failed: 0, failureRate: null });
    assertEquals(noop.lastError, null);
    assertEquals(noop.counts.queued, 0);
  } finally {
    await tf.close();
  }
});

Deno.test("attempts: two attempts that started in the same millisecond are both in the timeline", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 0 });
  try {
    const task = await tf.submit({ type: "fib", payload: { n: "x" }, maxAttempts: 2 });
    const failed = await tf.wait(task.id);
    // The second attempt as if it had started in the first one's millisecond (a quick failure
    // retried without backoff often does): still its own entry, before and after a retry.
    const sameMs = { ...failed, startedAt: failed.history![0].startedAt };
    assertEquals(attemptTimeline(sameMs).map((a) => [a.attempt, a.outcome]), [
      [1, "failed"],
      [2, "failed"],
    ]);
    const waiting = { ...sameMs, status: "queued" as const, attempts: 1 };
    assertEquals(attemptTimeline(waiting).length, 1, "a recorded attempt waiting for its retry");
  } finally {
    await tf.close();
  }
});
