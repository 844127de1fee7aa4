/**
 * ThreadFlow with real workers: submit, wait, events, ordering, concurrency,
 * bytes, task modules, limits and stats. Failures, cancellation, retries,
 * delays and shutdown have their own files (thread_flow_*_test.ts).
 */

import { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import {
  ClosedError,
  PayloadTooLargeError,
  QueueFullError,
  TaskNotFoundError,
  UnknownTaskTypeError,
  ValidationError,
} from "../../engine/model/errors.ts";
import type { TaskEvent } from "../../engine/model/events.ts";
import { TERMINAL_EVENT_TYPES } from "../../engine/model/events.ts";
import type { Task } from "../../engine/model/task.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  EventLog,
  seededRandom,
  startEngine,
  waitAllIdle,
  waitFor,
} from "./_helpers.ts";

/** Occupies the only worker with a `hold` task; returns it once it runs. */
async function occupy(tf: ThreadFlow, log: EventLog): Promise<Task> {
  const blocker = await tf.submit({ type: "hold", priority: 10 });
  await waitFor(() => log.tasks("task.started", blocker.id).length === 1, "the blocker to start");
  return blocker;
}

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

Deno.test("thread flow: bytes move to the worker and back", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const bytes = new Uint8Array([1, 2, 3, 4, 5]);
    const task = await tf.submit({ type: "noop", payload: bytes });
    const done = await tf.wait(task.id);
    assertEquals(done.status, "succeeded");
    assert(done.result instanceof Uint8Array, "the result is bytes");
    assertEquals(done.result, new Uint8Array([1, 2, 3, 4, 5]));
    assert(done.payload instanceof Uint8Array, "the payload is bytes again");
    assertEquals(done.payload, new Uint8Array([1, 2, 3, 4, 5]), "the payload is restored");
    // Transferred, not copied: the submitter's buffer moved to the worker.
    assertEquals(bytes.buffer.detached, true);
    assertEquals((await tf.get(task.id))?.payload, new Uint8Array([1, 2, 3, 4, 5]));
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: a handler may return new bytes; gzip and sha256 take bytes", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const echo = await tf.submit({ type: "bytes_echo", payload: new Uint8Array([1, 2, 3]) });
    const echoed = await tf.wait(echo.id);
    assertEquals(echoed.result, new Uint8Array([3, 2, 1]));
    assertEquals(echoed.payload, new Uint8Array([1, 2, 3]));

    const text = new TextEncoder().encode("a".repeat(10_000));
    const gz = await tf.wait((await tf.submit({ type: "gzip", payload: text })).id);
    assert(gz.result instanceof Uint8Array);
    const unzipped = await new Response(
      new Blob([gz.result as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      ),
    ).text();
    assertEquals(unzipped, "a".repeat(10_000));

    const hash = await tf.wait(
      (await tf.submit({ type: "sha256", payload: new TextEncoder().encode("abc") })).id,
    );
    assertEquals(
      (hash.result as { hex: string }).hex,
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: many byte tasks batched together all come back", async () => {
  const tf = await startEngine({ workers: 2 });
  try {
    const inputs = Array.from({ length: 500 }, (_, i) => ({
      type: "noop",
      payload: new Uint8Array([i & 0xff, i >> 8]),
    }));
    const results = await tf.submitBatch(inputs);
    const done = await Promise.all(results.map((r) => tf.wait(r.id)));
    done.forEach((task, i) => {
      assertEquals(task.status, "succeeded");
      assertEquals(task.result, new Uint8Array([i & 0xff, i >> 8]));
      assertEquals(task.payload, new Uint8Array([i & 0xff, i >> 8]));
    });
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: a byte view moves with its offset; the result holds only the view's bytes", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const whole = new Uint8Array(100).map((_, i) => i);
    const view = whole.subarray(10, 15);
    const done = await tf.wait((await tf.submit({ type: "noop", payload: view })).id);
    assertEquals(done.result, new Uint8Array([10, 11, 12, 13, 14]));
    assertEquals(done.payload, new Uint8Array([10, 11, 12, 13, 14]));
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test({
  name: "thread flow: bytes that were already moved away are refused at submit",
  async fn() {
    const tf = await startEngine({ workers: 1 });
    try {
      const bytes = new Uint8Array([9, 9]);
      await tf.wait((await tf.submit({ type: "noop", payload: bytes })).id);
      assert(bytes.buffer.detached);
      const error = await assertRejects(
        () => tf.submit({ type: "noop", payload: bytes }),
        ValidationError,
      );
      assertEquals(error.field, "payload");
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});

Deno.test({
  name: "thread flow: one Uint8Array in two tasks of a batch: both run, or the batch is refused",
  async fn() {
    const tf = await startEngine({ workers: 1 });
    try {
      const shared = new Uint8Array([1, 2, 3]);
      let results;
      try {
        results = await tf.submitBatch([
          { type: "noop", payload: shared },
          { type: "noop", payload: shared },
        ]);
      } catch (error) {
        assert(error instanceof ValidationError, String(error));
        assertEquals(error.field, "tasks[1].payload");
        return;
      }
      const done = await Promise.all(results.map((r) => tf.wait(r.id)));
      for (const task of done) {
        assertEquals(task.status, "succeeded", task.error?.message);
        assertEquals(task.result, new Uint8Array([1, 2, 3]));
      }
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});

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

Deno.test("thread flow: tasksDir modules become task types named after their files", async () => {
  const tf = await startEngine();
  try {
    const custom = tf.taskTypes().filter((t) => !t.builtin).map((t) => t.name).sort();
    for (const name of ["attempt", "bytes_echo", "flaky", "hold", "probe", "spin", "throws"]) {
      assert(custom.includes(name), `${name} is a task type`);
    }
    assert(tf.hasTaskType("probe"));
    assert(!tf.hasTaskType("_helpers"));
    const info = tf.taskTypes().find((t) => t.name === "probe")!;
    assert(info.source.endsWith("/tests/fixtures/tasks/probe.ts"), info.source);
    const done = await tf.wait((await tf.submit({ type: "probe", payload: { ms: 1 } })).id);
    assertEquals(done.status, "succeeded");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: a task module without a default function is refused at start, naming the file", async () => {
  const error = await assertRejects(
    () =>
      ThreadFlow.start({
        workers: 2,
        tasksDir: new URL("../fixtures/tasks_no_default/", import.meta.url),
      }),
    Error,
    "no_default.ts",
  );
  assert(!error.message.includes("fine.ts"), error.message);
});

Deno.test("thread flow: a task module that fails to load is refused at start, naming the file", async () => {
  await assertRejects(
    () =>
      ThreadFlow.start({
        workers: 1,
        tasksDir: new URL("../fixtures/tasks_broken/", import.meta.url),
      }),
    Error,
    "broken.ts",
  );
});

Deno.test("thread flow: a task module whose name is not a valid type name is refused, naming it", async () => {
  const { InvalidOptionError } = await import("../../engine/model/errors.ts");
  const error = await assertRejects(
    () =>
      ThreadFlow.start({
        workers: 1,
        tasksDir: new URL("../fixtures/tasks_bad_name/", import.meta.url),
      }),
    InvalidOptionError,
    "9lives.ts",
  );
  assertEquals(error.field, "tasksDir");
});

Deno.test("thread flow: a task module named like a built-in type is refused, naming both", async () => {
  const { InvalidOptionError } = await import("../../engine/model/errors.ts");
  const error = await assertRejects(
    () =>
      ThreadFlow.start({
        workers: 1,
        tasksDir: new URL("../fixtures/tasks_builtin_clash/", import.meta.url),
      }),
    InvalidOptionError,
    "noop.ts",
  );
  assert(error.message.includes("built-in"), error.message);
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
