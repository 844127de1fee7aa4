/**
 * Cancellation of scheduled, queued and running tasks; a handler that ignores
 * its signal is killed after `cancelGraceMs`.
 */

import { TaskConflictError } from "../../engine/model/errors.ts";
import type { WorkerEvent } from "../../engine/model/events.ts";
import type { Task } from "../../engine/model/task.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  EventLog,
  startEngine,
  waitAllIdle,
  waitFor,
} from "./_helpers.ts";

async function started(log: EventLog, task: Task): Promise<void> {
  await waitFor(() => log.tasks("task.started", task.id).length > 0, `${task.type} to start`);
}

function exitReasons(log: EventLog): string[] {
  return log.events
    .filter((e): e is WorkerEvent => e.type === "worker.exited")
    .map((e) => e.reason ?? "");
}

Deno.test("cancel: a queued task is removed at once and never runs", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const blocker = await tf.submit({ type: "hold" });
    await started(log, blocker);
    const queued = await tf.submit({ type: "noop", priority: 9 });
    const other = await tf.submit({ type: "noop", priority: 9 });
    const cancelled = await tf.cancel(queued.id);
    assertEquals(cancelled.status, "cancelled");
    assertEquals(cancelled.error?.name, "CancelledError");
    assert(cancelled.finishedAt !== null);
    const stats = await tf.stats();
    assertEquals(stats.queuedByPriority["9"], 1);
    assertEquals(stats.counts.cancelled, 1);
    assertEquals(stats.counts.queued, 1);
    assertEquals((await tf.wait(queued.id)).status, "cancelled");
    await tf.cancel(blocker.id);
    assertEquals((await tf.wait(other.id)).status, "succeeded");
    assertEquals(log.tasks("task.started", queued.id).length, 0);
    assertEquals(log.tasks(undefined, queued.id).map((e) => e.type), [
      "task.queued",
      "task.cancelled",
    ]);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("cancel: a scheduled task is removed from the delay heap and never runs", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "noop", delayMs: 100 });
    assertEquals(task.status, "scheduled");
    const cancelled = await tf.cancel(task.id);
    assertEquals(cancelled.status, "cancelled");
    assertEquals((await tf.stats()).counts.scheduled, 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assertEquals(log.tasks(undefined, task.id).map((e) => e.type), [
      "task.scheduled",
      "task.cancelled",
    ]);
    assertEquals((await tf.get(task.id))?.status, "cancelled");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("cancel: a running handler sees its signal aborted and stops; no worker is replaced", async () => {
  // cancelGraceMs is long: the worker is replaced only if the handler ignored its signal.
  const tf = await startEngine({ workers: 1, cancelGraceMs: 60_000 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "hold" });
    await started(log, task);
    const waiting = tf.wait(task.id);
    const cancelled = await tf.cancel(task.id);
    assertEquals(cancelled.status, "cancelled");
    assertEquals((await waiting).status, "cancelled");
    // hold stops only when aborted (else it waits 30 s): the worker becomes idle again.
    await waitAllIdle(tf);
    const [worker] = tf.workers();
    assertEquals(worker.restarts, 0);
    assertEquals(worker.completed, 1, "the handler returned after the abort");
    assertEquals(exitReasons(log), []);
    assertEquals(log.terminals(task.id).length, 1);
    const next = await tf.wait((await tf.submit({ type: "noop", payload: 1 })).id);
    assertEquals(next.status, "succeeded");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("cancel: sleep (built-in) stops on abort", async () => {
  const tf = await startEngine({ workers: 1, cancelGraceMs: 60_000 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "sleep", payload: { ms: 30_000 } });
    await started(log, task);
    await tf.cancel(task.id);
    await waitAllIdle(tf);
    assertEquals(tf.workers()[0].restarts, 0);
    // The handler rejected with the abort reason; the task stays cancelled, not failed.
    assertEquals((await tf.get(task.id))?.status, "cancelled");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("cancel: a handler that ignores abort is killed after cancelGraceMs; the pool recovers", async () => {
  const tf = await startEngine({ workers: 1, cancelGraceMs: 100 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "stubborn", payload: { ms: 30_000 } });
    await started(log, task);
    const next = await tf.submit({ type: "noop", payload: "next" });
    await tf.cancel(task.id);
    assertEquals((await tf.wait(next.id)).result, "next");
    assertEquals(exitReasons(log), ["cancel-grace"]);
    await waitAllIdle(tf);
    assertEquals(tf.workers()[0].restarts, 1);
    assertEquals((await tf.get(task.id))?.status, "cancelled");
    assertEquals(log.terminals(task.id).length, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("cancel: a handler that never yields is killed after cancelGraceMs", async () => {
  const tf = await startEngine({ workers: 1, cancelGraceMs: 50 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "blocks", timeoutMs: 60_000 });
    await started(log, task);
    await tf.cancel(task.id);
    await waitFor(() => exitReasons(log).length === 1, "the worker to be replaced");
    assertEquals(exitReasons(log), ["cancel-grace"]);
    assertEquals((await tf.wait((await tf.submit({ type: "noop", payload: 3 })).id)).result, 3);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("cancel: neighbours of a killed stubborn task are requeued and finish", async () => {
  const tf = await startEngine({ workers: 1, concurrencyPerWorker: 2, cancelGraceMs: 50 });
  const log = new EventLog(tf);
  try {
    const stubborn = await tf.submit({ type: "stubborn", payload: { ms: 30_000 } });
    const neighbour = await tf.submit({ type: "stubborn", payload: { ms: 300 } });
    await started(log, stubborn);
    await started(log, neighbour);
    await tf.cancel(stubborn.id);
    const done = await tf.wait(neighbour.id);
    assertEquals(done.status, "succeeded");
    assertEquals(done.attempts, 1);
    assertEquals(log.tasks("task.retrying", neighbour.id).length, 1);
    assertEquals(log.terminals(neighbour.id).length, 1);
    assertEquals(log.terminals(stubborn.id).length, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("cancel: a finished task is a TaskConflictError", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const done = await tf.wait((await tf.submit({ type: "noop" })).id);
    const error = await assertRejects(() => tf.cancel(done.id), TaskConflictError);
    assertEquals(error.code, "task_conflict");
    assert(error.message.includes("succeeded"), error.message);
    const failed = await tf.wait((await tf.submit({ type: "throws" })).id);
    await assertRejects(() => tf.cancel(failed.id), TaskConflictError);
    const queued = await tf.submit({ type: "noop", delayMs: 60_000 });
    await tf.cancel(queued.id);
    await assertRejects(() => tf.cancel(queued.id), TaskConflictError, "cancelled");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("cancel: many queued tasks cancelled while the worker is busy", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const blocker = await tf.submit({ type: "hold" });
    await started(log, blocker);
    // Several levels, 1000 per level.
    const results = await tf.submitBatch(
      Array.from({ length: 3000 }, (_, i) => ({ type: "noop", payload: i, priority: 1 + (i % 3) })),
    );
    const cancelled = results.filter((_, i) => i % 2 === 0);
    for (const task of cancelled) await tf.cancel(task.id);
    assertEquals((await tf.stats()).counts.queued, 1500);
    await tf.cancel(blocker.id);
    const kept = results.filter((_, i) => i % 2 === 1);
    const done = await Promise.all(kept.map((r) => tf.wait(r.id)));
    assert(done.every((t) => t.status === "succeeded"));
    for (const task of cancelled) assertEquals(log.tasks("task.started", task.id).length, 0);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test({
  name:
    "cancel: cancelling over 1024 queued tasks at the head of one priority, then running the rest",
  // Regression (found by this suite, fixed in 81994bf): the lane compaction bug made #take pop a
  // cancelled task, and the IllegalTransitionError it threw inside a worker's onmessage took the
  // whole process down.
  async fn() {
    const tf = await startEngine({ workers: 1 });
    const log = new EventLog(tf);
    try {
      const blocker = await tf.submit({ type: "hold" });
      await started(log, blocker);
      const results = await tf.submitBatch(
        Array.from({ length: 3000 }, (_, i) => ({ type: "noop", payload: i })),
      );
      for (let i = 0; i < 2000; i++) await tf.cancel(results[i].id);
      await tf.cancel(blocker.id);
      const done = await Promise.all(results.slice(2000).map((r) => tf.wait(r.id)));
      assert(done.every((t) => t.status === "succeeded"));
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});

Deno.test({
  name: "cancel: a task cancelled while it waits in its worker's batch never starts",
  // Regression (found by this suite, fixed in 81994bf): an abort for a job still waiting in the
  // worker's backlog (batched fast tasks) was lost; the job later ran with an un-aborted signal and
  // the worker was replaced after cancelGraceMs, requeueing its neighbours.
  async fn() {
    const tf = await startEngine({ workers: 1, cancelGraceMs: 1000 });
    const log = new EventLog(tf);
    try {
      // Teach the pool that "nap" is fast, so deep queues of it are batched.
      const warm = await tf.submitBatch(Array.from({ length: 30 }, () => ({ type: "nap" })));
      await Promise.all(warm.map((r) => tf.wait(r.id)));
      const batch = await tf.submitBatch([
        { type: "nap", payload: { ms: 100 } },
        { type: "nap", payload: { ms: 10_000 } },
        ...Array.from({ length: 10 }, () => ({ type: "nap" })),
      ]);
      const victim = batch[1];
      await waitFor(() => tf.workers()[0].taskIds.includes(victim.id), "the batch to be sent");
      await tf.cancel(victim.id);
      await Promise.all(batch.map((r) => tf.wait(r.id)));
      await waitAllIdle(tf);
      assertEquals(exitReasons(log), [], "no worker was replaced");
      assertEquals(tf.workers()[0].restarts, 0);
      assertEquals(log.tasks("task.retrying").length, 0, "no neighbour was requeued");
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});

Deno.test({
  name: "cancel: cancel() called from a task.started listener still aborts the handler",
  async fn() {
    const tf = await startEngine({ workers: 1, cancelGraceMs: 200 });
    const log = new EventLog(tf);
    const cancels: Promise<unknown>[] = [];
    tf.on((event) => {
      if (event.type === "task.started" && event.task.type === "hold") {
        cancels.push(tf.cancel(event.task.id));
      }
    });
    try {
      // hold waits 30 s unless aborted; cancelGraceMs is 200 ms.
      const held = await tf.submit({ type: "hold" });
      await waitFor(() => cancels.length === 1, "the listener to cancel");
      await Promise.all(cancels);
      assertEquals((await tf.get(held.id))?.status, "cancelled");
      // Aborted (or killed after the grace period), the worker is free again well before 30 s.
      await waitAllIdle(tf);
      const next = await tf.wait((await tf.submit({ type: "noop", payload: "next" })).id);
      assertEquals(next.result, "next");
      assertEquals(log.terminals(held.id).length, 1);
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});
