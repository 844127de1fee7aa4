/**
 * Shutdown: close({ drainMs }) lets running tasks finish within the drain,
 * puts the others back to queued, leaves waiting tasks in the store for the
 * next start, and clears every timer (the sanitizers check that).
 */

import { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import { MemoryStore } from "../../engine/store/memory_store.ts";
import { ClosedError } from "../../engine/model/errors.ts";
import type { WorkerEvent } from "../../engine/model/events.ts";
import type { Task } from "../../engine/model/task.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  EventLog,
  FIXTURE_TASKS,
  startEngine,
  waitFor,
} from "./_helpers.ts";

async function started(log: EventLog, task: Task): Promise<void> {
  await waitFor(() => log.tasks("task.started", task.id).length > 0, `${task.type} to start`);
}

Deno.test("close: a running task that finishes within drainMs succeeds", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  let closed = false;
  try {
    const task = await tf.submit({ type: "sleep", payload: { ms: 150 } });
    await started(log, task);
    const closing = tf.close({ drainMs: 10_000 });
    assertEquals(tf.state, "draining");
    await assertRejects(() => tf.submit({ type: "noop" }), ClosedError);
    await closing;
    closed = true;
    assertEquals(tf.state, "closed");
    const done = await tf.get(task.id);
    assertEquals(done?.status, "succeeded");
    assertEquals(log.terminals(task.id).length, 1);
  } finally {
    if (!closed) await tf.close({ drainMs: 0 });
  }
});

Deno.test("close: a running task past drainMs goes back to queued, its attempt given back", async () => {
  const store = new MemoryStore();
  const tf = await startEngine({ workers: 1, store });
  const log = new EventLog(tf);
  const task = await tf.submit({ type: "stubborn", payload: { ms: 30_000 } });
  await started(log, task);
  const waiting = tf.wait(task.id);
  await tf.close({ drainMs: 100 });
  assertEquals(tf.state, "closed");
  const stored = await store.get(task.id);
  assertEquals(stored?.status, "queued");
  assertEquals(stored?.attempts, 0);
  assertEquals(log.terminals(task.id).length, 0, "not ended");
  const exited = log.events.filter((e): e is WorkerEvent => e.type === "worker.exited");
  assertEquals(exited.map((e) => e.reason), ["shutdown"]);
  // A pending wait() does not hang past close; it gets the task as it was left.
  assertEquals((await waiting).status, "queued");
});

Deno.test("close: drainMs 0 interrupts at once; a handler that never yields does not stop shutdown", async () => {
  const tf = await startEngine({ workers: 2 });
  const log = new EventLog(tf);
  const spin = await tf.submit({ type: "blocks", timeoutMs: 60_000 });
  const hold = await tf.submit({ type: "hold" });
  await started(log, spin);
  await started(log, hold);
  await tf.close({ drainMs: 0 });
  assertEquals((await tf.get(spin.id))?.status, "queued");
  assertEquals((await tf.get(hold.id))?.status, "queued");
  assertEquals(tf.workers().every((w) => w.state === "stopped"), true);
});

Deno.test("close: no new task starts while draining", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  const first = await tf.submit({ type: "sleep", payload: { ms: 100 } });
  const second = await tf.submit({ type: "noop" });
  await started(log, first);
  await tf.close({ drainMs: 5_000 });
  assertEquals((await tf.get(first.id))?.status, "succeeded");
  assertEquals((await tf.get(second.id))?.status, "queued");
  assertEquals(log.tasks("task.started", second.id).length, 0);
});

Deno.test("close: queued and scheduled tasks stay in the store and run after the next start", async () => {
  const store = new MemoryStore();
  const first = await startEngine({ workers: 1, store });
  const log = new EventLog(first);
  const blocker = await first.submit({ type: "hold" });
  await started(log, blocker);
  const queued = await first.submit({ type: "noop", payload: "queued", priority: 7 });
  const scheduled = await first.submit({ type: "noop", payload: "scheduled", delayMs: 200 });
  await first.close({ drainMs: 0 });
  assertEquals((await store.get(queued.id))?.status, "queued");
  assertEquals((await store.get(scheduled.id))?.status, "scheduled");
  assertEquals((await store.get(blocker.id))?.status, "queued");

  const second = await ThreadFlow.start({ workers: 1, store, tasksDir: FIXTURE_TASKS });
  try {
    const stats = await second.stats();
    // All three are back; the idle worker may have taken (even finished) one already, and the
    // delayed one may be due.
    const { queued: q, running, scheduled: s, succeeded } = stats.counts;
    assertEquals(q + running + s + succeeded, 3);
    assertEquals(stats.counts.failed + stats.counts.cancelled, 0);
    // The recovered blocker would hold the only worker for 30 s: cancel it first.
    await second.cancel(blocker.id);
    assertEquals((await second.wait(queued.id)).result, "queued");
    const later = await second.wait(scheduled.id);
    assertEquals(later.result, "scheduled");
    assert(later.startedAt! >= scheduled.runAt, "the delay survives the restart");
    assertEquals((await second.stats()).counts.queued, 0);
  } finally {
    await second.close({ drainMs: 0 });
  }
});

Deno.test("close: a task left running by a stopped process fails, or is retried, at the next start", async () => {
  const store = new MemoryStore();
  await store.open();
  const now = Date.now();
  const base: Task = {
    id: "",
    type: "noop",
    payload: "recovered",
    priority: 5,
    status: "running",
    attempts: 1,
    maxAttempts: 1,
    timeoutMs: 60_000,
    progress: null,
    result: null,
    error: null,
    createdAt: now,
    runAt: now,
    startedAt: now,
    finishedAt: null,
    workerId: 0,
    idempotencyKey: null,
    nodeId: null,
  };
  const once = { ...base, id: "01900000-0000-7000-8000-000000000001" };
  const twice = { ...base, id: "01900000-0000-7000-8000-000000000002", maxAttempts: 2 };
  await store.insert([once, twice]);
  const tf = await ThreadFlow.start({ workers: 1, store, backoffMs: 0 });
  try {
    const failed = await tf.wait(once.id);
    assertEquals(failed.status, "failed");
    assertEquals(failed.error?.name, "WorkerExitedError");
    const retried = await tf.wait(twice.id);
    assertEquals(retried.status, "succeeded");
    assertEquals(retried.attempts, 2);
    const stats = await tf.stats();
    assertEquals(stats.counts.running, 0);
    assertEquals(stats.counts.failed, 1);
    assertEquals(stats.counts.succeeded, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("close: closing twice, or concurrently, is harmless", async () => {
  const tf = await startEngine({ workers: 1 });
  await Promise.all([tf.close(), tf.close()]);
  await tf.close();
  assertEquals(tf.state, "closed");
});

Deno.test("close: timers of delayed tasks and retries are cleared (no leak for the sanitizers)", async () => {
  const tf = await startEngine({ workers: 1, backoffMs: 60_000 });
  const log = new EventLog(tf);
  await tf.submit({ type: "noop", delayMs: 3_600_000 });
  const flaky = await tf.submit({ type: "flaky", payload: { succeedOn: 2 }, maxAttempts: 2 });
  await waitFor(
    () => log.tasks("task.retrying", flaky.id).length === 1,
    "the retry to be scheduled",
  );
  await tf.close();
  assertEquals(tf.state, "closed");
});
