/**
 * Delayed tasks (delayMs / runAt): short real delays, and fake time
 * (@sinonjs/fake-timers on the main thread; the workers keep real time) for
 * long ones.
 */

import FakeTimers from "@sinonjs/fake-timers";
import type { Task } from "../../engine/model/task.ts";
import { assert, assertEquals, EventLog, startEngine, waitFor } from "./_helpers.ts";

function installClock() {
  return FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
}

Deno.test("delay: delayMs schedules, then queues and runs no earlier than runAt", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const task = await tf.submit({ type: "noop", payload: "later", delayMs: 150 });
    assertEquals(task.status, "scheduled");
    assertEquals(task.runAt, task.createdAt + 150);
    assertEquals((await tf.stats()).counts.scheduled, 1);
    const done = await tf.wait(task.id);
    assertEquals(done.result, "later");
    assert(done.startedAt! >= task.runAt, "started before its runAt");
    assertEquals(log.tasks(undefined, task.id).map((e) => e.type), [
      "task.scheduled",
      "task.queued",
      "task.started",
      "task.succeeded",
    ]);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("delay: runAt as an ISO string and as a number; a past runAt runs now", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const iso = await tf.submit({
      type: "noop",
      payload: 1,
      runAt: new Date(Date.now() + 100).toISOString(),
    });
    assertEquals(iso.status, "scheduled");
    const number = await tf.submit({ type: "noop", payload: 2, runAt: Date.now() + 100 });
    assertEquals(number.status, "scheduled");
    const past = await tf.submit({ type: "noop", payload: 3, runAt: Date.now() - 10_000 });
    assertEquals(past.status, "queued");
    const done = await Promise.all([iso, number, past].map((t) => tf.wait(t.id)));
    assertEquals(done.map((t) => t.result), [1, 2, 3]);
    assert(done[0].startedAt! >= iso.runAt && done[1].startedAt! >= number.runAt);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("delay: delayed tasks become ready in runAt order", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const delays = [120, 30, 90, 60, 150, 10];
    const tasks = [];
    for (const delayMs of delays) tasks.push(await tf.submit({ type: "noop", delayMs }));
    await Promise.all(tasks.map((t) => tf.wait(t.id)));
    const queuedOrder = log.tasks("task.queued").map((e) => e.task.id);
    const expected = [...tasks].sort((a, b) => a.runAt - b.runAt).map((t) => t.id);
    assertEquals(queuedOrder, expected);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("delay: an hour-long delay with fake time: scheduled until the hour passes, then runs", async () => {
  const clock = installClock();
  try {
    const tf = await startEngine({ workers: 1 });
    try {
      const task = await tf.submit({ type: "noop", payload: "an hour later", delayMs: 3_600_000 });
      assertEquals(task.status, "scheduled");
      await clock.tickAsync(3_599_999);
      assertEquals((await tf.get(task.id))?.status, "scheduled");
      await clock.tickAsync(1);
      const done = await tf.wait(task.id);
      assertEquals(done.status, "succeeded");
      assertEquals(done.result, "an hour later");
      assert(done.startedAt! >= task.runAt);
    } finally {
      clock.uninstall();
      await tf.close({ drainMs: 0 });
    }
  } finally {
    clock.uninstall();
  }
});

Deno.test("delay: 10,000 delayed tasks share one timer (fake time), then all run", async () => {
  const clock = installClock();
  try {
    const tf = await startEngine({ workers: 2 });
    try {
      const timersBefore = clock.countTimers();
      const inputs = Array.from({ length: 10_000 }, (_, i) => ({
        type: "noop",
        payload: i,
        delayMs: 60_000 + (i % 100) * 1000,
        // Fake time also drives the pool's timeouts: keep them out of reach of the ticks below.
        timeoutMs: 86_400_000,
      }));
      const results = await tf.submitBatch(inputs);
      assertEquals(clock.countTimers() - timersBefore, 1, "one timer for every delayed task");
      assertEquals((await tf.stats()).counts.scheduled, 10_000);
      await clock.tickAsync(60_000 + 49 * 1000);
      const half = await tf.stats();
      assertEquals(half.counts.scheduled, 5_000, "the first 50 seconds' worth are due");
      await clock.tickAsync(50_000);
      clock.uninstall();
      const done = await Promise.all(results.map((r) => tf.wait(r.id)));
      const unsuccessful = done.filter((t) => t.status !== "succeeded");
      assertEquals(unsuccessful.length, 0, `first: ${JSON.stringify(unsuccessful[0]?.error)}`);
    } finally {
      clock.uninstall();
      await tf.close({ drainMs: 0 });
    }
  } finally {
    clock.uninstall();
  }
});

Deno.test("delay: a ten-minute retry backoff with fake time", async () => {
  const clock = installClock();
  try {
    const tf = await startEngine({ workers: 1, backoffMs: 600_000, maxBackoffMs: 900_000 });
    const log = new EventLog(tf);
    try {
      const task = await tf.submit({ type: "flaky", payload: { succeedOn: 2 }, maxAttempts: 2 });
      // The worker answers in real time; waitFor polls in real time.
      await waitFor(() => log.tasks("task.retrying", task.id).length === 1, "the first failure");
      assertEquals((await tf.get(task.id))?.status, "scheduled");
      const runAt = log.tasks("task.retrying", task.id)[0].task.runAt;
      assert(runAt - Date.now() >= 300_000, "backoff of at least half of backoffMs");
      await clock.tickAsync(runAt - Date.now() - 1);
      assertEquals((await tf.get(task.id))?.status, "scheduled");
      await clock.tickAsync(1);
      const done = await tf.wait(task.id);
      assertEquals(done.status, "succeeded");
      assertEquals(done.result, { attempt: 2 });
    } finally {
      clock.uninstall();
      await tf.close({ drainMs: 0 });
    }
  } finally {
    clock.uninstall();
  }
});

Deno.test("delay: delayed tasks of different priorities due together run most urgent first", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const blocker = await tf.submit({ type: "hold" });
    await waitFor(() => log.tasks("task.started", blocker.id).length > 0, "the blocker to start");
    const runAt = Date.now() + 80;
    const tasks: Task[] = [];
    for (const priority of [2, 9, 5]) {
      tasks.push(await tf.submit({ type: "noop", priority, runAt }));
    }
    await waitFor(
      () => tasks.every((t) => log.tasks("task.queued", t.id).length === 1),
      "all three to be queued",
    );
    await tf.cancel(blocker.id);
    await Promise.all(tasks.map((t) => tf.wait(t.id)));
    assertEquals(log.startOrder().slice(1), [tasks[1].id, tasks[2].id, tasks[0].id]);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});
