/**
 * ThreadFlow with real workers: submit, wait, events, snapshots, listing,
 * stats and workers. Ordering, bytes, task modules, refusals at submit,
 * failures, cancellation, retries, delays and shutdown have their own files
 * (thread_flow_*_test.ts).
 */

import { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import { ClosedError, TaskNotFoundError } from "../../engine/model/errors.ts";
import type { TaskEvent } from "../../engine/model/events.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  EventLog,
  occupy,
  startEngine,
  waitAllIdle,
} from "./_helpers.ts";

Deno.test("thread flow: submit, wait, result (the README example)", async () => {
  const tf = await ThreadFlow.start({ workers: 2 });
  try {
    const task = await tf.submit({ type: "fib", payload: { n: 20 }, priority: 9 });
    assertEquals(task.priority, 9);
    assert(task.status === "queued" || task.status === "running", task.status);
    const done = await tf.wait(task.id);
    assertEquals(done.status, "succeeded");
    assertEquals(done.result, 6765);
    assertEquals(done.attempts, 1);
    assertEquals(done.progress, 1);
    assert(done.startedAt !== null && done.finishedAt !== null);
    assert(done.finishedAt! >= done.startedAt! && done.startedAt! >= done.createdAt);
    assert(done.workerId === 0 || done.workerId === 1, `workerId ${done.workerId}`);
    assertEquals(done.nodeId, tf.nodeId);
    assertEquals((await tf.get(task.id))?.status, "succeeded");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: every built-in type runs", async () => {
  const tf = await ThreadFlow.start({ workers: 2 });
  try {
    const inputs = [
      { type: "noop", payload: { a: [1, "b", null] } },
      { type: "sleep", payload: { ms: 20 } },
      { type: "fib", payload: { n: 10 } },
      { type: "primes", payload: { limit: 100 } },
      { type: "sha256", payload: { data: "abc" } },
      { type: "gzip", payload: { data: "hello hello hello hello" } },
    ];
    const results = await tf.submitBatch(inputs);
    const done = await Promise.all(results.map((r) => tf.wait(r.id)));
    for (const task of done) assertEquals(task.status, "succeeded", task.type);
    assertEquals(done[0].result, { a: [1, "b", null] });
    assert((done[1].result as { sleptMs: number }).sleptMs >= 0);
    assertEquals(done[2].result, 55);
    assertEquals(done[3].result, { limit: 100, count: 25 });
    assertEquals(done[4].result, {
      hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      rounds: 1,
    });
    const gz = done[5].result as { inputBytes: number; outputBytes: number };
    assertEquals(gz.inputBytes, 23);
    assert(gz.outputBytes > 0);
    const names = tf.taskTypes().filter((t) => t.builtin).map((t) => t.name).sort();
    assertEquals(names, ["fib", "gzip", "noop", "primes", "sha256", "sleep"]);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: a handler receives taskId and attempt in its context", async () => {
  const tf = await startEngine();
  try {
    const task = await tf.submit({ type: "attempt", payload: { x: 1 } });
    const done = await tf.wait(task.id);
    assertEquals(done.result, { payload: { x: 1 }, taskId: task.id, attempt: 1 });
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: get() and events hand out snapshots the caller cannot corrupt", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "noop", payload: "x", priority: 6 });
    task.priority = 1;
    const done = await tf.wait(task.id);
    done.status = "failed";
    const snapshot = await tf.get(task.id);
    snapshot!.result = "corrupted";
    log.tasks("task.succeeded", task.id)[0].task.status = "queued";
    const again = await tf.get(task.id);
    assertEquals(again?.status, "succeeded");
    assertEquals(again?.priority, 6);
    assertEquals(again?.result, "x");
    assertEquals((await tf.stats()).counts.succeeded, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: a throwing event listener does not disturb the engine", async () => {
  const tf = await startEngine({ workers: 1 });
  const originalError = console.error;
  let logged = 0;
  console.error = () => logged++;
  try {
    tf.on(() => {
      throw new Error("listener bug");
    });
    const done = await tf.wait((await tf.submit({ type: "noop", payload: 5 })).id);
    assertEquals(done.result, 5);
    assert(logged > 0, "the listener's error is logged");
  } finally {
    console.error = originalError;
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: wait() on a finished task resolves at once; an unknown id is TaskNotFoundError", async () => {
  const tf = await startEngine();
  try {
    const task = await tf.submit({ type: "noop", payload: "x" });
    const first = await tf.wait(task.id);
    const second = await tf.wait(task.id);
    assertEquals(second.status, "succeeded");
    assertEquals(second.result, first.result);
    const missing = await assertRejects(() => tf.wait(crypto.randomUUID()), TaskNotFoundError);
    assertEquals(missing.code, "task_not_found");
    await assertRejects(() => tf.cancel(crypto.randomUUID()), TaskNotFoundError);
    await assertRejects(() => tf.retry(crypto.randomUUID()), TaskNotFoundError);
    assertEquals(await tf.get(crypto.randomUUID()), undefined);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: wait() stops when its signal aborts", async () => {
  const tf = await startEngine();
  const log = new EventLog(tf);
  try {
    const blocker = await occupy(tf, log);
    const controller = new AbortController();
    const waiting = tf.wait(blocker.id, { signal: controller.signal });
    controller.abort(new Error("stop waiting"));
    await assertRejects(() => waiting, Error, "stop waiting");
    const aborted = AbortSignal.abort(new Error("already"));
    await assertRejects(() => tf.wait(blocker.id, { signal: aborted }), Error, "already");
    await tf.cancel(blocker.id);
    assertEquals((await tf.wait(blocker.id)).status, "cancelled");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: events: one terminal event per task, seq grows by one", async () => {
  const tf = await startEngine({ workers: 2, concurrencyPerWorker: 2 });
  const log = new EventLog(tf);
  try {
    const seqAtStart = tf.seq;
    const results = await tf.submitBatch([
      ...Array.from({ length: 30 }, (_, i) => ({ type: "noop", payload: i })),
      ...Array.from({ length: 5 }, () => ({ type: "throws" })),
      ...Array.from({ length: 5 }, () => ({ type: "sleep", payload: { ms: 30 } })),
    ]);
    await Promise.all(results.map((r) => tf.wait(r.id)));
    for (const task of results) {
      const terminals = log.terminals(task.id);
      assertEquals(terminals.length, 1, `terminal events of ${task.type} ${task.id}`);
      const types = log.tasks(undefined, task.id).map((e) => e.type).filter((t) =>
        t !== "task.progress"
      );
      assertEquals(types, ["task.queued", "task.started", terminals[0].type]);
    }
    const seqs = log.events.map((e) => e.seq);
    assertEquals(seqs[0], seqAtStart + 1);
    for (let i = 1; i < seqs.length; i++) assertEquals(seqs[i], seqs[i - 1] + 1, `seq at ${i}`);
    assertEquals(tf.seq, seqs.at(-1));
    const succeeded = log.tasks("task.succeeded")[0] as TaskEvent;
    assertEquals(succeeded.task.status, "succeeded");
    assert(typeof succeeded.at === "number");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: progress events are throttled per task and carry fractions", async () => {
  const tf = await startEngine({ progressIntervalMs: 50 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "sleep", payload: { ms: 400 } });
    await tf.wait(task.id);
    const progress = log.tasks("task.progress", task.id);
    assert(progress.length >= 1, "at least one progress event");
    let last = -1;
    for (const event of progress) {
      const value = event.task.progress!;
      assert(value >= 0 && value <= 1, `progress ${value}`);
      assert(value >= last, "progress does not go backwards");
      last = value;
      assertEquals(event.task.status, "running");
    }
    for (let i = 1; i < progress.length; i++) {
      // The throttle compares times taken just before each event's own `at` (a few ms of slack).
      assert(progress[i].at - progress[i - 1].at >= 45, "at most one progress event per 50 ms");
    }
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: progress as { done, total } becomes a fraction, also on the worker", async () => {
  const tf = await startEngine({ progressIntervalMs: 0 });
  const log = new EventLog(tf);
  const seenOnWorker: number[] = [];
  tf.on((event) => {
    if (event.type !== "task.progress") return;
    const progress = tf.workers()[0].progress;
    if (progress !== null) seenOnWorker.push(progress);
  });
  try {
    const task = await tf.submit({ type: "steps", payload: { total: 4, stepMs: 80 } });
    const done = await tf.wait(task.id);
    assertEquals(done.result, 4);
    assertEquals(done.progress, 1);
    const values = log.tasks("task.progress", task.id).map((e) => e.task.progress);
    assert(values.length >= 1, "at least one progress event");
    for (const value of values) assert([0.25, 0.5, 0.75, 1].includes(value!), `progress ${value}`);
    assert(seenOnWorker.every((v) => [0.25, 0.5, 0.75, 1].includes(v)), `${seenOnWorker}`);
    assert(seenOnWorker.length >= 1, "the worker slot shows its task's progress");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: unsubscribing stops events", async () => {
  const tf = await startEngine();
  try {
    const seen: string[] = [];
    const stop = tf.on((e) => seen.push(e.type));
    await tf.wait((await tf.submit({ type: "noop" })).id);
    const count = seen.length;
    stop();
    await tf.wait((await tf.submit({ type: "noop" })).id);
    assertEquals(seen.length, count);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: list pages newest first", async () => {
  const tf = await startEngine();
  try {
    const results = await tf.submitBatch(
      Array.from({ length: 7 }, (_, i) => ({ type: "noop", payload: i, priority: i % 2 ? 3 : 8 })),
    );
    await Promise.all(results.map((r) => tf.wait(r.id)));
    const first = await tf.list({ limit: 4 });
    assertEquals(first.tasks.map((t) => t.payload), [6, 5, 4, 3]);
    const second = await tf.list({ limit: 4, cursor: first.nextCursor! });
    assertEquals(second.tasks.map((t) => t.payload), [2, 1, 0]);
    assertEquals(second.nextCursor, null);
    const filtered = await tf.list({ priority: [3] });
    assertEquals(filtered.tasks.map((t) => t.payload), [5, 3, 1]);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: stats fields", async () => {
  const tf = await startEngine({ workers: 2, nodeId: "stats-node" });
  const log = new EventLog(tf);
  try {
    const results = await tf.submitBatch([
      ...Array.from({ length: 10 }, () => ({ type: "noop", priority: 7 })),
      ...Array.from({ length: 3 }, () => ({ type: "throws" })),
    ]);
    await Promise.all(results.map((r) => tf.wait(r.id)));
    await occupy(tf, log);
    await occupy(tf, log);
    await tf.submit({ type: "noop", priority: 2 });
    await tf.submit({ type: "noop", priority: 2 });
    await tf.submit({ type: "noop", delayMs: 60_000 });
    const stats = await tf.stats();
    assertEquals(stats.nodeId, "stats-node");
    assertEquals(stats.store, "memory");
    assertEquals(stats.state, "running");
    assert(stats.uptimeMs >= 0);
    assertEquals(stats.counts, {
      blocked: 0,
      scheduled: 1,
      queued: 2,
      running: 2,
      succeeded: 10,
      failed: 3,
      cancelled: 0,
    });
    const levels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];
    assertEquals(Object.keys(stats.queuedByPriority).sort(), [...levels].sort());
    assertEquals(Object.keys(stats.oldestQueuedAgeMs).sort(), [...levels].sort());
    assertEquals(Object.keys(stats.waitMsByPriority).sort(), [...levels].sort());
    assertEquals(stats.queuedByPriority["2"], 2);
    assertEquals(stats.queuedByPriority["5"], 0);
    assert(stats.oldestQueuedAgeMs["2"]! >= 0);
    assertEquals(stats.oldestQueuedAgeMs["5"], null);
    assertEquals(stats.throughput.perSecond.length, 60);
    const finished = stats.throughput.perSecond.reduce((a, b) => a + b, 0);
    assertEquals(finished, 13);
    assertEquals(stats.throughput.last60s, Math.round((13 / 60) * 100) / 100);
    assertEquals(stats.waitMs.count, 15, "13 + the two blockers started");
    assertEquals(stats.waitMsByPriority["7"].count, 10);
    assertEquals(stats.waitMsByPriority["5"].count, 3);
    assertEquals(stats.runMs.count, 13);
    assertEquals(stats.histograms.waitMs.count, 15);
    assertEquals(
      stats.histograms.runMs.counts.reduce((a, b) => a + b, 0),
      stats.histograms.runMs.count,
    );
    assertEquals(stats.workers.total, 2);
    assertEquals(stats.workers.busy, 2);
    assertEquals(stats.workers.idle, 0);
    assertEquals(stats.workers.restarts, 0);
    for (const summary of [stats.waitMs, stats.runMs]) {
      assert(
        summary.p50 <= summary.p95 && summary.p95 <= summary.p99 && summary.p99 <= summary.max,
      );
    }
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: oldestQueuedAgeMs shows how long the oldest task of each level waited", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    await occupy(tf, log);
    await tf.submit({ type: "noop", priority: 3 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await tf.submit({ type: "noop", priority: 3 });
    const stats = await tf.stats();
    assertEquals(stats.queuedByPriority["3"], 2);
    assert(stats.oldestQueuedAgeMs["3"]! >= 40, `age ${stats.oldestQueuedAgeMs["3"]}`);
    assertEquals(stats.oldestQueuedAgeMs["4"], null);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: workers() describes every slot", async () => {
  const tf = await startEngine({ workers: 3, nodeId: "w-node" });
  const log = new EventLog(tf);
  try {
    const workers = tf.workers();
    assertEquals(workers.map((w) => w.id), [0, 1, 2]);
    for (const worker of workers) {
      assertEquals(worker.nodeId, "w-node");
      assertEquals(worker.state, "idle");
      assertEquals(worker.taskIds, []);
      assertEquals(worker.restarts, 0);
    }
    const blocker = await occupy(tf, log);
    const busy = tf.workers().find((w) => w.state === "busy")!;
    assertEquals(busy.taskIds, [blocker.id]);
    await tf.cancel(blocker.id);
    await waitAllIdle(tf);
    const after = tf.workers();
    assertEquals(after.reduce((n, w) => n + w.completed, 0), 1, "the cancelled handler returned");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: submit after close is ClosedError", async () => {
  const tf = await startEngine();
  await tf.close();
  assertEquals(tf.state, "closed");
  const error = await assertRejects(() => tf.submit({ type: "noop" }), ClosedError);
  assertEquals(error.code, "closed");
  await assertRejects(() => tf.submitBatch([{ type: "noop" }]), ClosedError);
  await tf.close(); // a second close is harmless
});
