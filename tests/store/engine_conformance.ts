/**
 * The engine conformance suite: the execution core's promises, checked
 * through the public API on every store (memory, SQLite, PostgreSQL). The
 * store suite (`conformance.ts`) checks what a store records; this one checks
 * that the engine above the task-source seam behaves the same on each.
 *
 * @module
 */

import { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import type { ThreadFlowOptions } from "../../engine/facade/options.ts";
import { QueueFullError, ValidationError } from "../../engine/model/errors.ts";
import type { ThreadFlowEvent } from "../../engine/model/events.ts";
import type { SubmitInput, Task } from "../../engine/model/task.ts";
import {
  assert,
  assertEquals,
  delay,
  FIXTURE_TASKS,
  seededRandom,
  waitFor,
} from "../engine/_helpers.ts";
import type { StoreHarness } from "./conformance.ts";

/** How to run the suite against one kind of store. */
export interface EngineConformanceOptions {
  /** Test name prefix, e.g. `sqlite`. */
  name: string;
  harness(): Promise<StoreHarness>;
  /** Skip everything, with this reason, when a prerequisite is missing. */
  ignore?: string;
  /** Data survives a restart (a new engine over a new store of the harness); default true. */
  durable?: boolean;
}

/** Counts running tasks from events, and the most seen at once. */
class RunningCounter {
  running = 0;
  peak = 0;
  readonly started = new Map<string, number>();
  #order = 0;

  observe(event: ThreadFlowEvent): void {
    if (!("task" in event)) return;
    if (event.type === "task.started") {
      this.running++;
      this.peak = Math.max(this.peak, this.running);
      this.started.set(event.task.id, this.#order++);
    } else if (event.type === "task.succeeded" || event.type === "task.failed") {
      this.running--;
    } else if (event.type === "task.cancelled" && this.started.has(event.task.id)) {
      this.running--;
    } else if (event.type === "task.retrying") {
      this.running--;
    }
  }
}

/** Registers the suite for one store kind with `Deno.test`. */
export function engineConformance(options: EngineConformanceOptions): void {
  const test = (name: string, fn: (start: Starter) => Promise<void>, durable = false) => {
    Deno.test({
      name: `${options.name} engine: ${name}`,
      // A restart test needs a store whose data outlives it.
      ignore: options.ignore !== undefined || (durable && options.durable === false),
      fn: async () => {
        const harness = await options.harness();
        const engines: ThreadFlow[] = [];
        const start: Starter = async (engineOptions = {}) => {
          const engine = await ThreadFlow.start({
            workers: 2,
            tasksDir: FIXTURE_TASKS,
            store: harness.create(),
            nodeId: `node-${engines.length}`,
            ...engineOptions,
          });
          engines.push(engine);
          return engine;
        };
        try {
          await fn(start);
        } finally {
          for (const engine of engines) await engine.close({ drainMs: 0 });
          await harness.cleanup();
        }
      },
    });
  };

  test("a long task never holds quick ones back while another worker is idle", async (start) => {
    const tf = await start();
    await warmUp(tf, "noop");
    const counter = new RunningCounter();
    const ends: string[] = [];
    tf.on((event) => {
      counter.observe(event);
      if (event.type === "task.succeeded") ends.push(event.task.id);
    });
    const [long, ...quick] = await tf.submitBatch([
      { type: "nap", payload: { ms: 600 } },
      ...Array.from({ length: 100 }, () => ({ type: "noop" })),
    ]);
    const done = await Promise.all(quick.map((task) => tf.wait(task.id)));
    const finishedLong = await tf.wait(long.id);
    assertEquals(done.every((task) => task.status === "succeeded"), true);
    // Every quick task ended before the long one: none waited in its worker's inbox.
    assertEquals(ends.at(-1), long.id, "the long task ends last");
    for (const task of done) {
      assert(task.startedAt! >= task.createdAt, "a start after creation");
      assert(task.finishedAt! < finishedLong.finishedAt!, "each quick task ends before it");
      const ran = task.finishedAt! - task.startedAt!;
      const longRan = finishedLong.finishedAt! - finishedLong.startedAt!;
      assert(ran < longRan / 2, `${task.id} is reported running ${ran} ms, like the long task`);
    }
    assert(counter.peak <= 2, `running peaked at ${counter.peak} on 2 workers`);
  });

  test("running never exceeds workers × concurrency (seeded random mix)", async (start) => {
    const seed = Number(Deno.env.get("THREADFLOW_SEED") ?? 20261201);
    const random = seededRandom(seed);
    const concurrency = 1 + Math.floor(random() * 3);
    const tf = await start({ concurrencyPerWorker: concurrency });
    await warmUp(tf, "noop");
    const counter = new RunningCounter();
    let statsPeak = 0;
    tf.on((event) => counter.observe(event));
    const inputs: SubmitInput[] = Array.from({ length: 400 }, () => {
      const roll = random();
      const priority = 1 + Math.floor(random() * 10);
      if (roll < 0.7) return { type: "noop", priority };
      if (roll < 0.9) return { type: "nap", priority, payload: { ms: Math.floor(random() * 20) } };
      return { type: "probe", priority, payload: { ms: Math.floor(random() * 40) } };
    });
    const submitted: Task[] = [];
    for (let i = 0; i < inputs.length; i += 50) {
      submitted.push(...await tf.submitBatch(inputs.slice(i, i + 50)));
      statsPeak = Math.max(statsPeak, (await tf.stats()).counts.running);
      await delay(Math.floor(random() * 10));
    }
    const sampler = (async () => {
      while (counter.started.size < submitted.length) {
        statsPeak = Math.max(statsPeak, (await tf.stats()).counts.running);
        await delay(2);
      }
    })();
    const done = await Promise.all(submitted.map((task) => tf.wait(task.id)));
    await sampler;
    const capacity = 2 * concurrency;
    assert(counter.peak <= capacity, `seed ${seed}: events showed ${counter.peak} running`);
    assert(statsPeak <= capacity, `seed ${seed}: stats showed ${statsPeak} running`);
    for (const task of done) {
      assertEquals(task.status, "succeeded", `seed ${seed}: ${task.type} ${task.id}`);
      assert(task.startedAt! <= task.finishedAt!, `seed ${seed}: start before end`);
    }
  });

  test("a priority-10 task starts before every lower one that has not started", async (start) => {
    const tf = await start();
    await warmUp(tf, "noop");
    let started = false;
    tf.on((event) => {
      if (event.type === "task.started") started = true;
    });
    const low = await tf.submitBatch(
      Array.from({ length: 3000 }, () => ({ type: "noop", priority: 1 })),
    );
    // Low tasks run or wait in workers' inboxes now; the urgent ones arrive into that.
    await waitFor(() => started, "low tasks to start");
    const high = await tf.submitBatch(
      Array.from({ length: 20 }, () => ({ type: "noop", priority: 10 })),
    );
    // Once the submit has answered, the engine has taken the urgent tasks in.
    const admittedAt = Date.now();
    const lows = await Promise.all(low.map((task) => tf.wait(task.id)));
    const highs = await Promise.all(high.map((task) => tf.wait(task.id)));
    const lastHigh = Math.max(...highs.map((task) => task.startedAt!));
    // Start times are the workers' clock rounded to the nearest millisecond, and `admittedAt` is
    // `Date.now()`, cut down to one: a start rounded to `admittedAt + 1` may have come just
    // before the submit answered (seen under a loaded suite: a run of lows started in that half
    // millisecond). A low task rounded to two milliseconds or more past `admittedAt` surely
    // started after the urgent ones arrived, and must not start before any of them.
    const overtaking = lows.filter((task) =>
      task.startedAt! > admittedAt + 1 && task.startedAt! < lastHigh
    );
    assertEquals(overtaking.map((task) => task.id), [], "low tasks that overtook urgent ones");
  });

  test("maxQueued refuses the task past the limit; running ones do not count", async (start) => {
    const tf = await start({ workers: 1, maxQueued: 5 });
    const blocker = await tf.submit({ type: "hold" });
    await waitFor(async () => (await tf.get(blocker.id))?.status === "running", "the blocker");
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 12; i++) {
      try {
        await tf.submit({ type: "noop", priority: 1 + (i % 3) });
        accepted++;
      } catch (error) {
        assert(error instanceof QueueFullError, String(error));
        refused++;
      }
    }
    assertEquals([accepted, refused], [5, 7]);
    const stats = await tf.stats();
    assertEquals(stats.counts.queued, 5);
    assertEquals(
      [stats.queuedByPriority["1"], stats.queuedByPriority["2"], stats.queuedByPriority["3"]],
      [2, 2, 1],
    );
    for (const level of ["1", "2", "3"]) {
      assert(stats.oldestQueuedAgeMs[level] !== null, `level ${level} has an oldest task`);
    }
    assertEquals(stats.oldestQueuedAgeMs["9"], null);
    await tf.cancel(blocker.id);
  });

  test("aging: a low task that waited long enough starts before a fresh urgent one", async (start) => {
    const tf = await start({ workers: 1, agingMs: 40 });
    const blocker = await tf.submit({ type: "hold" });
    await waitFor(async () => (await tf.get(blocker.id))?.status === "running", "the blocker");
    const old = await tf.submit({ type: "noop", priority: 1 });
    await delay(500); // 500 ms at a level per 40 ms: priority 1 counts as 10
    const fresh = await tf.submit({ type: "noop", priority: 9 });
    const order: string[] = [];
    tf.on((event) => {
      if (event.type === "task.started") order.push(event.task.id);
    });
    await tf.cancel(blocker.id);
    await Promise.all([tf.wait(old.id), tf.wait(fresh.id)]);
    assertEquals(order, [old.id, fresh.id]);
  });

  test("cancel takes back a task a worker holds and has not started: it never runs", async (start) => {
    const tf = await start({ workers: 1 });
    await warmUp(tf, "noop");
    const started = new Set<string>();
    tf.on((event) => {
      if (event.type === "task.started") started.add(event.task.id);
    });
    const blocker = await tf.submit({ type: "hold", priority: 10 });
    await waitFor(() => started.has(blocker.id), "the blocker to start");
    const waiting = await tf.submitBatch(
      Array.from({ length: 50 }, () => ({ type: "noop", priority: 5 })),
    );
    const victims = waiting.filter((_, i) => i % 5 === 0);
    for (const task of victims) assertEquals((await tf.cancel(task.id)).status, "cancelled");
    await tf.cancel(blocker.id);
    await Promise.all(waiting.map((task) => tf.wait(task.id)));
    for (const task of victims) assert(!started.has(task.id), `${task.id} ran after its cancel`);
    assertEquals(started.size, 1 + waiting.length - victims.length);
  });

  test("pause: a paused type's tasks stay queued, other types run, starts stop within 100 ms", async (start) => {
    const tf = await start();
    await warmUp(tf, "nap");
    const starts: Task[] = [];
    tf.on((event) => {
      if (event.type === "task.started") starts.push(event.task);
    });
    const naps = await tf.submitBatch(
      Array.from({ length: 200 }, () => ({ type: "nap", payload: { ms: 2 } })),
    );
    await waitFor(() => starts.length >= 20, "naps to start");
    const pausedAt = Date.now();
    const control = await tf.pauseType("nap");
    assertEquals(control.paused, true);
    const others = await tf.submitBatch(Array.from({ length: 20 }, () => ({ type: "noop" })));
    for (const task of others) assertEquals((await tf.wait(task.id)).status, "succeeded");
    await delay(150);
    const late = starts.filter((task) => task.type === "nap" && task.startedAt! > pausedAt + 100);
    assertEquals(late.length, 0, "nap tasks started more than 100 ms after the pause");
    const waiting = await Promise.all(naps.map((task) => tf.get(task.id)));
    assert(waiting.some((task) => task!.status === "queued"), "some naps still wait");
    await tf.resumeType("nap");
    for (const task of naps) assertEquals((await tf.wait(task.id)).status, "succeeded");
  });

  test("limits: a type never runs more than its concurrency, and never holds others back", async (start) => {
    const tf = await start({ workers: 2, concurrencyPerWorker: 4 });
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    tf.on((event) => {
      if (!("task" in event)) return;
      const type = event.task.type;
      if (event.type === "task.started") {
        running.set(type, (running.get(type) ?? 0) + 1);
        peak.set(type, Math.max(peak.get(type) ?? 0, running.get(type)!));
      } else if (event.type === "task.succeeded") running.set(type, running.get(type)! - 1);
    });
    const control = await tf.setTypeLimits("nap", { concurrency: 2 });
    assertEquals(control.limits, { concurrency: 2 });
    assertEquals(control.limitsSet, true);
    // The limited type is queued first and more urgent: the others still run beside it.
    const naps = await tf.submitBatch(
      Array.from({ length: 30 }, () => ({ type: "nap", payload: { ms: 15 }, priority: 9 })),
    );
    const limited = await tf.submitBatch(
      Array.from({ length: 6 }, () => ({ type: "limited", payload: { ms: 10 }, priority: 9 })),
    );
    const quick = await tf.submitBatch(Array.from({ length: 50 }, () => ({ type: "noop" })));
    const quickDone = await Promise.all(quick.map((task) => tf.wait(task.id)));
    const napsDone = await Promise.all(naps.map((task) => tf.wait(task.id)));
    await Promise.all(limited.map((task) => tf.wait(task.id)));
    assertEquals(peak.get("nap"), 2, "nap's peak concurrency");
    assertEquals(peak.get("limited"), 1, "the module's own limit (concurrency 1)");
    const lastNapStart = Math.max(...napsDone.map((task) => task.startedAt!));
    assert(
      quickDone.every((task) => task.finishedAt! < lastNapStart),
      "noop tasks waited behind the limited type",
    );
    assertEquals(tf.typeControl("limited").moduleLimits, { concurrency: 1 });
    const reset = await tf.setTypeLimits("nap", null);
    assertEquals([reset.limits, reset.limitsSet], [{}, false]);
  });

  test("limits: a limit set while the type's tasks run counts them", async (start) => {
    const tf = await start({ workers: 2, concurrencyPerWorker: 4 });
    const first = await tf.submitBatch(
      Array.from({ length: 6 }, () => ({ type: "nap", payload: { ms: 300 } })),
    );
    const deadline = Date.now() + 5_000;
    while ((await tf.stats()).counts.running < 6 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals((await tf.stats()).counts.running, 6, "the first six run at once");
    await tf.setTypeLimits("nap", { concurrency: 2 });
    const later = await tf.submitBatch(
      Array.from({ length: 3 }, () => ({ type: "nap", payload: { ms: 10 } })),
    );
    const firstDone = await Promise.all(first.map((task) => tf.wait(task.id)));
    const laterDone = await Promise.all(later.map((task) => tf.wait(task.id)));
    // Six already ran under a limit of two: none of the later ones starts before five ended.
    const fifthEnd = firstDone.map((task) => task.finishedAt!).sort((a, b) => a - b)[4];
    for (const task of laterDone) {
      assert(
        task.startedAt! >= fifthEnd - 2,
        `a later nap started ${fifthEnd - task.startedAt!} ms early`,
      );
    }
    await tf.setTypeLimits("nap", null);
  });

  test("limits: a rate limit spaces starts out", async (start) => {
    const tf = await start();
    await tf.setTypeLimits("noop", { ratePerSecond: 40, burst: 1 });
    const tasks = await tf.submitBatch(Array.from({ length: 21 }, () => ({ type: "noop" })));
    const done = await Promise.all(tasks.map((task) => tf.wait(task.id)));
    const starts = done.map((task) => task.startedAt!).sort((a, b) => a - b);
    // 20 intervals of 25 ms; a claim's clock may differ from a worker's by a few ms.
    assert(starts[20] - starts[0] >= 450, `21 starts at 40/s took ${starts[20] - starts[0]} ms`);
  });

  test("dependencies: children wait blocked, run after their parents and see their results", async (start) => {
    const tf = await start();
    const started = new Map<string, number>();
    let order = 0;
    tf.on((event) => {
      if (event.type === "task.started") started.set(event.task.id, order++);
    });
    const [a, b, c, d] = await tf.submitBatch([
      { type: "nap", payload: { ms: 60 } },
      { type: "parents", payload: "b", dependsOn: ["#0"] },
      { type: "parents", payload: "c", dependsOn: ["#0", "#1"] },
      { type: "noop" },
    ]);
    assertEquals([a.status, b.status, c.status, d.status], [
      "queued",
      "blocked",
      "blocked",
      "queued",
    ]);
    assertEquals(b.dependsOn, [a.id]);
    assertEquals(c.dependsOn, [a.id, b.id]);
    const doneC = await tf.wait(c.id);
    assertEquals(doneC.status, "succeeded");
    assert(started.get(b.id)! > started.get(a.id)! && started.get(c.id)! > started.get(b.id)!);
    const doneB = await tf.get(b.id);
    assertEquals(doneC.result, {
      payload: "c",
      parents: [
        {
          id: a.id,
          type: "nap",
          status: "succeeded",
          result: { abortedAtStart: false },
          error: null,
        },
        { id: b.id, type: "parents", status: "succeeded", result: doneB!.result, error: null },
      ],
    });
    // A parent that ended long ago: the child is released at once.
    const late = await tf.submit({ type: "parents", payload: "late", dependsOn: [a.id] });
    assertEquals((await tf.wait(late.id)).status, "succeeded");
    assertEquals((await tf.get(late.id))!.dependsOn, [a.id]);
  });

  test("dependencies: a failed parent cancels its descendants; onParentFailure run runs", async (start) => {
    const tf = await start();
    const [bad, child, grandchild, anyway] = await tf.submitBatch([
      { type: "throws", maxAttempts: 1 },
      { type: "noop", dependsOn: ["#0"] },
      { type: "noop", dependsOn: ["#1"] },
      { type: "parents", dependsOn: ["#0"], onParentFailure: "run" },
    ]);
    assertEquals((await tf.wait(bad.id)).status, "failed");
    const cancelled = await tf.wait(child.id);
    assertEquals(cancelled.status, "cancelled");
    assertEquals(cancelled.error?.name, "DependencyFailedError");
    assert(cancelled.error!.message.includes(bad.id), cancelled.error!.message);
    const transitively = await tf.wait(grandchild.id);
    assertEquals([transitively.status, transitively.error?.name], [
      "cancelled",
      "DependencyFailedError",
    ]);
    assert(transitively.error!.message.includes(child.id), transitively.error!.message);
    const ran = await tf.wait(anyway.id);
    assertEquals(ran.status, "succeeded");
    assertEquals((ran.result as { parents: { status: string }[] }).parents[0].status, "failed");
    // A blocked task can be cancelled; its own children follow.
    const holder = await tf.submit({ type: "hold" });
    const [blocked, below] = await tf.submitBatch([
      { type: "noop", dependsOn: [holder.id] },
      { type: "noop", dependsOn: ["#0"] },
    ]);
    assertEquals((await tf.cancel(blocked.id)).status, "cancelled");
    assertEquals((await tf.wait(below.id)).status, "cancelled");
    await tf.cancel(holder.id);
  });

  test(
    "a restart keeps a type's pause and limits, and blocked tasks still wait for their parents",
    async (start) => {
      const first = await start();
      await first.pauseType("nap");
      await first.setTypeLimits("noop", { concurrency: 3 });
      const [parent, child] = await first.submitBatch([
        { type: "nap", payload: { ms: 1 } },
        { type: "noop", dependsOn: ["#0"] },
      ]);
      assertEquals(child.status, "blocked");
      await first.close({ drainMs: 0 });

      const second = await start();
      assertEquals(second.typeControl("nap").paused, true);
      assertEquals(second.typeControl("noop").limits, { concurrency: 3 });
      await delay(100);
      assertEquals((await second.get(parent.id))!.status, "queued");
      assertEquals((await second.get(child.id))!.status, "blocked");
      await second.resumeType("nap");
      const ran = await second.wait(child.id);
      assertEquals(ran.status, "succeeded");
      assert(ran.startedAt! >= (await second.get(parent.id))!.finishedAt!, "the child ran first");
    },
    true,
  );

  test("a result JSON cannot write fails its task, stored as failed; neighbours succeed", async (start) => {
    const tf = await start({ workers: 1, concurrencyPerWorker: 2 });
    const submitted = await tf.submitBatch([
      { type: "odd", payload: { mode: "bigint" } },
      { type: "odd", payload: { mode: "plain" } },
      { type: "odd", payload: { mode: "cycle" } },
    ]);
    const [big, plain, cycle] = await Promise.all(submitted.map((task) => tf.wait(task.id)));
    assertEquals(plain.status, "succeeded");
    for (const task of [big, cycle]) {
      assertEquals(task.status, "failed");
      assertEquals(task.error?.name, "ResultNotStorableError");
      assert(task.error!.message.includes("JSON value or bytes"), task.error!.message);
    }
    // What the store holds (and a restart would find) says the same, a write or two later.
    for (const id of [big.id, cycle.id]) {
      const deadline = Date.now() + 5_000;
      while ((await tf.store.get(id))?.status !== "failed") {
        assert(Date.now() < deadline, `the store still has ${id} unfinished`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  });

  test("dependencies: an unknown parent or a forward reference is refused, naming the field", async (start) => {
    const tf = await start();
    await assertRejectsField(
      tf.submit({ type: "noop", dependsOn: ["01900000-0000-7000-8000-000000000000"] }),
      "dependsOn[0]",
    );
    await assertRejectsField(tf.submit({ type: "noop", dependsOn: ["#0"] }), "dependsOn[0]");
    await assertRejectsField(
      tf.submitBatch([{ type: "noop", dependsOn: ["#1"] }, { type: "noop" }]),
      "tasks[0].dependsOn[0]",
    );
    await assertRejectsField(tf.submit({ type: "noop", dependsOn: "x" as never }), "dependsOn");
    await assertRejectsField(
      tf.submit({ type: "noop", dependsOn: [], onParentFailure: "ignore" as never }),
      "onParentFailure",
    );
    assertEquals((await tf.stats()).counts.blocked, 0);
  });
}

/** Expects `promise` to reject with a ValidationError whose field is `field`. */
async function assertRejectsField(promise: Promise<unknown>, field: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof ValidationError, String(error));
    assertEquals(error.field, field);
    return;
  }
  throw new Error(`Expected a ValidationError naming ${field}.`);
}

type Starter = (options?: ThreadFlowOptions) => Promise<ThreadFlow>;

/** Runs a few tasks of `type` so the pool knows how long they take. */
async function warmUp(tf: ThreadFlow, type: string): Promise<void> {
  const tasks = await tf.submitBatch(Array.from({ length: 200 }, () => ({ type })));
  await Promise.all(tasks.map((task) => tf.wait(task.id)));
}
