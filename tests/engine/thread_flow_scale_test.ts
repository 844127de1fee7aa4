/**
 * 100,000 tasks queued behind a busy worker, and delayed far in the future (one
 * timer), then cancelled or closed cleanly; 20,000 run to completion.
 */

import FakeTimers from "@sinonjs/fake-timers";
import { MemoryStore } from "../../engine/store/memory_store.ts";
import { QueueFullError } from "../../engine/model/errors.ts";
import { TERMINAL_EVENT_TYPES } from "../../engine/model/events.ts";
import type { SubmitInput, Task } from "../../engine/model/task.ts";
import type { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  EventLog,
  startEngine,
  waitAllIdle,
  waitFor,
} from "./_helpers.ts";

const N = 100_000;

async function submitMany(
  tf: ThreadFlow,
  count: number,
  make: (i: number) => SubmitInput,
): Promise<Task[]> {
  const results: Task[] = [];
  for (let start = 0; start < count; start += 10_000) {
    const inputs = Array.from(
      { length: Math.min(10_000, count - start) },
      (_, i) => make(start + i),
    );
    results.push(...await tf.submitBatch(inputs));
  }
  return results;
}

Deno.test("scale: 100,000 queued tasks behind a busy worker; limits, stats, cancel and close", async () => {
  const store = new MemoryStore();
  const tf = await startEngine({ workers: 1, maxQueued: N, store });
  const log = new EventLog(tf);
  try {
    const blocker = await tf.submit({ type: "hold" });
    await waitFor(() => log.tasks("task.started", blocker.id).length > 0, "the blocker to start");
    const results = await submitMany(tf, N, (i) => ({
      type: "noop",
      payload: i,
      priority: 1 + (i % 10),
    }));
    assertEquals(results.length, N);
    let stats = await tf.stats();
    assertEquals(stats.counts.queued, N);
    assertEquals(Object.values(stats.queuedByPriority).reduce((a, b) => a + b, 0), N);
    assertEquals(stats.queuedByPriority["10"], N / 10);
    await assertRejects(() => tf.submit({ type: "noop" }), QueueFullError);

    // Cancel the oldest 15,000: 1,500 at the head of every level's lane.
    for (let i = 0; i < 15_000; i++) await tf.cancel(results[i].id);
    stats = await tf.stats();
    assertEquals(stats.counts.queued, N - 15_000);
    assertEquals(stats.counts.cancelled, 15_000);
    assertEquals(stats.queuedByPriority["10"], N / 10 - 1_500);
    const extra = await tf.submit({ type: "noop", priority: 10 }); // room again

    // Free the worker: it must take live tasks only, most urgent first.
    await tf.cancel(blocker.id);
    await waitFor(() => log.tasks("task.succeeded").length >= 100, "100 tasks to finish");
    await tf.close({ drainMs: 0 });
    const ran = log.tasks("task.started").slice(1).map((e) => e.task);
    assert(ran.every((t) => t.priority === 10), "the most urgent level runs first");
    const cancelledIds = new Set(results.slice(0, 15_000).map((r) => r.id));
    assert(!ran.some((t) => cancelledIds.has(t.id)), "no cancelled task ran");
    assertEquals(ran[0].id, results[15_009].id, "the oldest live priority-10 task goes first");
    const counts = await store.counts();
    assertEquals(counts.cancelled, 15_001);
    assertEquals(counts.queued + counts.succeeded, N - 15_000 + 1);
    assertEquals(counts.running, 0);
    assert(extra.priority === 10);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("scale: 100,000 tasks delayed by an hour cost one timer", async () => {
  const clock = FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
  try {
    const tf = await startEngine({ workers: 1 });
    try {
      const before = clock.countTimers();
      await submitMany(tf, N, (i) => ({ type: "noop", payload: i, delayMs: 3_600_000 + i }));
      assertEquals(clock.countTimers() - before, 1);
      const stats = await tf.stats();
      assertEquals(stats.counts.scheduled, N);
      assertEquals(stats.counts.queued, 0);
      await clock.tickAsync(3_600_000 + 9);
      assertEquals((await tf.stats()).counts.scheduled, N - 10, "exactly the due ones moved");
    } finally {
      clock.uninstall();
      await tf.close({ drainMs: 0 });
    }
  } finally {
    clock.uninstall();
  }
});

Deno.test("scale: 20,000 no-op tasks run to completion, each ending exactly once", async () => {
  // 20,000 rather than 100,000 keeps the suite's time in budget; the queue itself is tested at
  // 100,000 above.
  const count = 20_000;
  const tf = await startEngine({ workers: 2 });
  const terminals = new Map<string, number>();
  let started = 0;
  tf.on((event) => {
    if (!("task" in event)) return;
    if (event.type === "task.started") started++;
    if (TERMINAL_EVENT_TYPES.has(event.type)) {
      terminals.set(event.task.id, (terminals.get(event.task.id) ?? 0) + 1);
    }
  });
  try {
    const results = await submitMany(tf, count, (i) => ({ type: "noop", payload: i }));
    await Promise.all(results.map((r) => tf.wait(r.id)));
    assertEquals(terminals.size, count);
    assert([...terminals.values()].every((n) => n === 1), "one terminal event per task");
    assertEquals(started, count);
    const stats = await tf.stats();
    assertEquals(stats.counts.succeeded, count);
    assertEquals(stats.counts.queued + stats.counts.running, 0);
    assertEquals(stats.runMs.count, count);
    await waitAllIdle(tf);
    const done = await tf.get(results[count - 1].id);
    assertEquals(done?.result, count - 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});
