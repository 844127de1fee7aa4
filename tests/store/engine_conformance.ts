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
import { QueueFullError } from "../../engine/model/errors.ts";
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
  const test = (name: string, fn: (start: Starter) => Promise<void>) => {
    Deno.test({
      name: `${options.name} engine: ${name}`,
      ignore: options.ignore !== undefined,
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
    // Start times are whole milliseconds from the workers' clock: a low task that started in a
    // later millisecond than the urgent ones arrived must not start before any of them.
    const overtaking = lows.filter((task) =>
      task.startedAt! > admittedAt && task.startedAt! < lastHigh
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
}

type Starter = (options?: ThreadFlowOptions) => Promise<ThreadFlow>;

/** Runs a few tasks of `type` so the pool knows how long they take. */
async function warmUp(tf: ThreadFlow, type: string): Promise<void> {
  const tasks = await tf.submitBatch(Array.from({ length: 200 }, () => ({ type })));
  await Promise.all(tasks.map((task) => tf.wait(task.id)));
}
