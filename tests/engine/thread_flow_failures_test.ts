/**
 * Handlers that fail: a `while (true) {}` killed by its timeout, a throw, a
 * worker that closes itself or dies of an uncaught error. The pool must
 * recover every time: the next task runs, restarts are counted.
 */

import { ValidationError } from "../../engine/model/errors.ts";
import type { WorkerEvent } from "../../engine/model/events.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  EventLog,
  startEngine,
  waitAllIdle,
  waitFor,
} from "./_helpers.ts";

function workerEvents(log: EventLog, type: string): WorkerEvent[] {
  return log.events.filter((e): e is WorkerEvent => e.type === type);
}

Deno.test("failures: a timed-out task with attempts left is retried, then fails", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 10 });
  const log = new EventLog(tf);
  try {
    const spin = await tf.submit({ type: "blocks", timeoutMs: 100, maxAttempts: 2 });
    const failed = await tf.wait(spin.id);
    assertEquals(failed.status, "failed");
    assertEquals(failed.attempts, 2);
    assertEquals(failed.error?.name, "TimeoutError");
    assertEquals(log.tasks("task.retrying", spin.id).length, 1);
    assertEquals(log.terminals(spin.id).length, 1);
    await waitAllIdle(tf);
    assertEquals(tf.workers()[0].restarts, 2);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("failures: a neighbour of a timed-out task is given back its attempt and runs again", async () => {
  const tf = await startEngine({ workers: 1, concurrencyPerWorker: 2 });
  const log = new EventLog(tf);
  try {
    const neighbour = await tf.submit({ type: "stubborn", payload: { ms: 400 }, timeoutMs: 5000 });
    const spin = await tf.submit({ type: "blocks", timeoutMs: 150 });
    assertEquals((await tf.wait(spin.id)).error?.name, "TimeoutError");
    const done = await tf.wait(neighbour.id);
    assertEquals(done.status, "succeeded");
    assertEquals(done.attempts, 1, "the interrupted attempt does not count");
    assertEquals(log.tasks("task.retrying", neighbour.id).length, 1);
    assertEquals(log.tasks("task.started", neighbour.id).length, 2);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("failures: a handler that throws fails its task with the error; the worker lives on", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const task = await tf.submit({ type: "throws", payload: { message: "boom" } });
    const failed = await tf.wait(task.id);
    assertEquals(failed.status, "failed");
    assertEquals(failed.error?.name, "FixtureError");
    assertEquals(failed.error?.message, "boom");
    assert(failed.error?.stack?.includes("throws.ts"), "the stack is kept");
    assertEquals(failed.finishedAt !== null, true);
    const next = await tf.wait((await tf.submit({ type: "noop", payload: 1 })).id);
    assertEquals(next.status, "succeeded");
    const [worker] = tf.workers();
    assertEquals(worker.restarts, 0);
    assertEquals(worker.failed, 1);
    assertEquals(worker.completed, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("failures: a built-in rejects a bad payload inside the worker", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const failed = await tf.wait((await tf.submit({ type: "fib", payload: { n: -1 } })).id);
    assertEquals(failed.status, "failed");
    assertEquals(failed.error?.name, "RangeError");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("failures: a handler that calls self.close() fails with WorkerExitedError; the pool recovers", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "closes", timeoutMs: 10_000 });
    const next = await tf.submit({ type: "noop", payload: "next" });
    const failed = await tf.wait(task.id);
    assertEquals(failed.status, "failed");
    assertEquals(failed.error?.name, "WorkerExitedError");
    assert(failed.error!.message.includes("self.close()"), failed.error!.message);
    assertEquals((await tf.wait(next.id)).result, "next");
    await waitAllIdle(tf);
    assertEquals(tf.workers()[0].restarts, 1);
    const exited = workerEvents(log, "worker.exited");
    assertEquals(exited.length, 1);
    assert(exited[0].reason!.startsWith("crashed:"), exited[0].reason);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("failures: an uncaught error in the worker fails the task with WorkerExitedError; the pool recovers", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const task = await tf.submit({ type: "crash", timeoutMs: 10_000 });
    const failed = await tf.wait(task.id);
    assertEquals(failed.status, "failed");
    assertEquals(failed.error?.name, "WorkerExitedError");
    assert(failed.error!.message.includes("uncaught on purpose"), failed.error!.message);
    assertEquals((await tf.wait((await tf.submit({ type: "noop", payload: 2 })).id)).result, 2);
    await waitAllIdle(tf);
    assertEquals(tf.workers()[0].restarts, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("failures: a crash with attempts left is retried on a fresh worker", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 0 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "closes", maxAttempts: 2, timeoutMs: 10_000 });
    const failed = await tf.wait(task.id);
    assertEquals(failed.attempts, 2);
    assertEquals(failed.status, "failed");
    assertEquals(log.tasks("task.retrying", task.id).length, 1);
    await waitAllIdle(tf);
    assertEquals(tf.workers()[0].restarts, 2);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test({
  name:
    "failures: a handler that calls Deno.exit() is noticed as a dead worker, not left to its timeout",
  // Regression (found by this suite, fixed in 81994bf): Deno.exit() ends a worker silently, so
  // the task used to fail only at its timeout, with TimeoutError.
  async fn() {
    const tf = await startEngine({ workers: 1 });
    try {
      const task = await tf.submit({ type: "exits", timeoutMs: 3000 });
      const failed = await tf.wait(task.id);
      assertEquals(failed.error?.name, "WorkerExitedError");
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});

Deno.test("failures: a result that cannot be sent back fails only that task", async () => {
  const tf = await startEngine({ workers: 1, concurrencyPerWorker: 4 });
  try {
    const results = await tf.submitBatch([
      { type: "odd", payload: { mode: "plain" } },
      { type: "odd", payload: { mode: "function" } },
      { type: "odd", payload: { mode: "plain" } },
    ]);
    const [a, bad, b] = await Promise.all(results.map((r) => tf.wait(r.id)));
    assertEquals(a.result, "ordinary");
    assertEquals(b.result, "ordinary");
    assertEquals(bad.status, "failed");
    assert(bad.error!.message.includes("cannot be sent"), bad.error!.message);
    assertEquals(tf.workers()[0].restarts, 0);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("failures: a thrown string is recorded as an error", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const task = await tf.submit({ type: "odd", payload: { mode: "string" } });
    const failed = await tf.wait(task.id);
    assertEquals(failed.status, "failed");
    assertEquals(failed.error?.name, "Error");
    assertEquals(failed.error?.message, "a plain string");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test({
  name: "failures: a payload that cannot be cloned is refused at submit and harms no neighbour",
  // Regression (found by this suite, fixed in 81994bf): { f: () => 1 } passed validation, then
  // postMessage threw DataCloneError, the pool replaced the worker, and the innocent neighbour
  // failed with WorkerExitedError.
  async fn() {
    const tf = await startEngine({ workers: 1, concurrencyPerWorker: 2 });
    const log = new EventLog(tf);
    try {
      const neighbour = await tf.submit({ type: "hold", payload: { ms: 300 } });
      await waitFor(() => log.tasks("task.started", neighbour.id).length > 0, "the neighbour");
      const error = await assertRejects(
        () => tf.submit({ type: "noop", payload: { f: () => 1 } }),
        ValidationError,
      );
      assertEquals(error.field, "payload");
      assertEquals((await tf.wait(neighbour.id)).status, "succeeded");
      assertEquals(tf.workers()[0].restarts, 0);
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});

Deno.test({
  name:
    "failures: a batched task waiting in its worker behind a slow one does not time out unstarted",
  // Regression (found by this suite, fixed in 81994bf): timeouts were armed at dispatch, so a
  // batched task waiting in the worker's backlog timed out without starting, and its worker was
  // replaced.
  async fn() {
    const tf = await startEngine({ workers: 1 });
    const log = new EventLog(tf);
    try {
      const warm = await tf.submitBatch(Array.from({ length: 30 }, () => ({ type: "nap" })));
      await Promise.all(warm.map((r) => tf.wait(r.id)));
      const batch = await tf.submitBatch([
        { type: "nap", payload: { ms: 300 } },
        { type: "nap", timeoutMs: 100 },
        ...Array.from({ length: 10 }, () => ({ type: "nap" })),
      ]);
      const done = await Promise.all(batch.map((r) => tf.wait(r.id)));
      assertEquals(done[1].status, "succeeded", `${done[1].error?.name}`);
      assertEquals(tf.workers()[0].restarts, 0);
      assertEquals(log.events.filter((e) => e.type === "worker.exited").length, 0);
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});
