/**
 * ThreadFlow with real workers: the order tasks start in (priority, FIFO within
 * a level, aging) and the concurrency each worker is held to.
 */

import { TERMINAL_EVENT_TYPES } from "../../engine/model/events.ts";
import type { Task } from "../../engine/model/task.ts";
import { assert, assertEquals, EventLog, occupy, seededRandom, startEngine } from "./_helpers.ts";

Deno.test("thread flow: priority order, and FIFO within a level, with one busy worker", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const blocker = await occupy(tf, log);
    const random = seededRandom(42);
    const submitted: Task[] = [];
    for (let i = 0; i < 120; i++) {
      const priority = 1 + Math.floor(random() * 10);
      submitted.push(await tf.submit({ type: "noop", payload: i, priority }));
    }
    assertEquals(log.tasks("task.started").length, 1, "nothing else started while blocked");
    await tf.cancel(blocker.id);
    await Promise.all(submitted.map((t) => tf.wait(t.id)));
    const expected = [...submitted]
      .map((t, index) => ({ id: t.id, priority: t.priority, index }))
      .sort((a, b) => b.priority - a.priority || a.index - b.index)
      .map((t) => t.id);
    assertEquals(log.startOrder().slice(1), expected);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: priority order holds for a batch submitted at once (slow tasks, 1 worker)", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const blocker = await occupy(tf, log);
    const inputs = [3, 7, 7, 1, 10, 3, 5, 7, 1, 10].map((priority, i) => ({
      type: "probe",
      payload: { ms: 5, i },
      priority,
    }));
    const results = await tf.submitBatch(inputs);
    await tf.cancel(blocker.id);
    await Promise.all(results.map((r) => tf.wait(r.id)));
    const order = log.tasks("task.started").slice(1).map((e) =>
      (e.task.payload as { i: number }).i
    );
    assertEquals(order, [4, 9, 1, 2, 7, 6, 0, 5, 3, 8]);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: aging lets an old low-priority task pass newer urgent ones", async () => {
  const tf = await startEngine({ workers: 1, agingMs: 20 });
  const log = new EventLog(tf);
  try {
    const blocker = await occupy(tf, log);
    const low = await tf.submit({ type: "noop", priority: 1 });
    // 9 levels at 20 ms each: after ~180 ms the low task is at level 10.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const urgent: Task[] = [];
    for (let i = 0; i < 5; i++) urgent.push(await tf.submit({ type: "noop", priority: 9 }));
    await tf.cancel(blocker.id);
    await Promise.all([low, ...urgent].map((t) => tf.wait(t.id)));
    assertEquals(log.startOrder()[1], low.id, "the aged task goes first");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: without aging the same low-priority task goes last", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const blocker = await occupy(tf, log);
    const low = await tf.submit({ type: "noop", priority: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const urgent: Task[] = [];
    for (let i = 0; i < 5; i++) urgent.push(await tf.submit({ type: "noop", priority: 9 }));
    await tf.cancel(blocker.id);
    await Promise.all([low, ...urgent].map((t) => tf.wait(t.id)));
    assertEquals(log.startOrder().at(-1), low.id);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: concurrencyPerWorker is never exceeded inside a worker, and it is used", async () => {
  const tf = await startEngine({ workers: 2, concurrencyPerWorker: 3 });
  const log = new EventLog(tf);
  let running = 0;
  let peakRunning = 0;
  tf.on((event) => {
    if (event.type === "task.started") running++;
    else if (
      "task" in event && (TERMINAL_EVENT_TYPES.has(event.type) || event.type === "task.retrying")
    ) {
      if (event.task.startedAt !== null) running--;
    }
    peakRunning = Math.max(peakRunning, running);
  });
  try {
    const results = await tf.submitBatch(
      Array.from({ length: 40 }, () => ({ type: "probe", payload: { ms: 25 } })),
    );
    const done = await Promise.all(results.map((r) => tf.wait(r.id)));
    const peaks = done.map((t) => (t.result as { peak: number }).peak);
    assert(Math.max(...peaks) <= 3, `a worker ran ${Math.max(...peaks)} at once`);
    assertEquals(Math.max(...peaks), 3, "the concurrency was used");
    assert(peakRunning <= 6, `${peakRunning} tasks were running at once`);
    for (const worker of tf.workers()) assert(worker.taskIds.length <= 3);
    assertEquals(log.tasks("task.succeeded").length, 40);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: fast tasks batched per message still respect concurrencyPerWorker in the worker", async () => {
  const tf = await startEngine({ workers: 2, concurrencyPerWorker: 2 });
  try {
    // Warm up so the pool sees the type as fast and starts batching.
    await Promise.all(
      (await tf.submitBatch(Array.from({ length: 50 }, () => ({ type: "probe" })))).map((r) =>
        tf.wait(r.id)
      ),
    );
    const results = await tf.submitBatch(Array.from({ length: 3000 }, () => ({ type: "probe" })));
    const done = await Promise.all(results.map((r) => tf.wait(r.id)));
    const peak = Math.max(...done.map((t) => (t.result as { peak: number }).peak));
    assert(peak <= 2, `a worker ran ${peak} at once`);
    assert(done.every((t) => t.status === "succeeded"));
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: with dispatchBatch 1, running tasks never exceed workers × concurrency", async () => {
  const tf = await startEngine({ workers: 2, concurrencyPerWorker: 2, dispatchBatch: 1 });
  let running = 0;
  let peakRunning = 0;
  let peakHeld = 0;
  tf.on((event) => {
    if (event.type === "task.started") running++;
    else if ("task" in event && TERMINAL_EVENT_TYPES.has(event.type)) running--;
    peakRunning = Math.max(peakRunning, running);
    // Listeners' exceptions are caught by the engine: record, assert after.
    peakHeld = Math.max(peakHeld, tf.workers().reduce((n, w) => n + w.taskIds.length, 0));
  });
  try {
    const results = await tf.submitBatch(Array.from({ length: 500 }, () => ({ type: "noop" })));
    await Promise.all(results.map((r) => tf.wait(r.id)));
    assert(peakRunning <= 4, `${peakRunning} tasks were running at once`);
    assert(peakHeld <= 4, `workers held ${peakHeld} tasks at once`);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: tasks worth waking a second worker for are split between both", async () => {
  const tf = await startEngine({ workers: 2 });
  try {
    const spin = (ms: number) => ({ type: "probe", payload: { ms } });
    await Promise.all((await tf.submitBatch([spin(5), spin(5)])).map((task) => tf.wait(task.id)));
    const done = await Promise.all(
      (await tf.submitBatch(Array.from({ length: 8 }, () => spin(5)))).map((task) =>
        tf.wait(task.id)
      ),
    );
    assertEquals(new Set(done.map((task) => task.workerId)).size, 2, "both workers ran some");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});
