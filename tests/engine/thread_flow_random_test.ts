/**
 * A seeded random mix of concurrent submits, cancels, timeouts, crashes,
 * throws, retries and delays. Every task must end exactly once with exactly
 * one terminal event, every event must be a legal move, and nothing may be
 * left running.
 *
 * Reproduce a failure with THREADFLOW_SEED=<seed printed on failure>.
 */

import { TaskConflictError } from "../../engine/model/errors.ts";
import { TERMINAL_EVENT_TYPES, type ThreadFlowEvent } from "../../engine/model/events.ts";
import { canTransition } from "../../engine/model/lifecycle.ts";
import {
  type SubmitInput,
  type Task,
  type TaskStatus,
  TERMINAL_STATUSES,
} from "../../engine/model/task.ts";
import { assert, assertEquals, delay, seededRandom, startEngine, waitAllIdle } from "./_helpers.ts";

const TASKS = 120;

function pickSeed(): number {
  const fromEnv = Deno.env.get("THREADFLOW_SEED");
  if (fromEnv !== undefined && fromEnv !== "") return Number(fromEnv) >>> 0;
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** Task types that never fail on their own: they fail only as a crashed worker's neighbour. */
const INNOCENT = new Set(["noop", "probe", "sleep", "stubborn", "hold"]);

function randomInput(random: () => number): SubmitInput {
  const roll = random();
  const priority = 1 + Math.floor(random() * 10);
  const maxAttempts = random() < 0.3 ? 2 : 1;
  const common = { priority, maxAttempts };
  if (roll < 0.25) return { type: "noop", payload: Math.floor(random() * 1000), ...common };
  if (roll < 0.40) return { type: "probe", payload: { ms: Math.floor(random() * 30) }, ...common };
  if (roll < 0.48) {
    return { type: "sleep", payload: { ms: 10 + Math.floor(random() * 60) }, ...common };
  }
  if (roll < 0.56) return { type: "throws", ...common };
  // Kept rare: each of these replaces a worker, and a worker takes a few hundred ms to start here.
  if (roll < 0.60) return { type: "blocks", timeoutMs: 80 + Math.floor(random() * 80), ...common };
  if (roll < 0.63) return { type: "closes", timeoutMs: 5_000, priority, maxAttempts: 1 };
  if (roll < 0.65) return { type: "crash", timeoutMs: 5_000, priority, maxAttempts: 1 };
  if (roll < 0.68) return { type: "noop", payload: "spare", ...common };
  if (roll < 0.73) {
    return {
      type: "stubborn",
      payload: { ms: 30 + Math.floor(random() * 300) },
      timeoutMs: 2_000,
      ...common,
    };
  }
  if (roll < 0.78) return { type: "hold", payload: { ms: 200 }, timeoutMs: 2_000, ...common };
  if (roll < 0.88) {
    return {
      type: "flaky",
      payload: { succeedOn: 2 },
      ...common,
      maxAttempts: 1 + Math.floor(random() * 2),
    };
  }
  return { type: "noop", payload: "delayed", delayMs: 5 + Math.floor(random() * 100), ...common };
}

Deno.test("random mix: every task ends exactly once and nothing is left running", async () => {
  const seed = pickSeed();
  try {
    await runMix(seed);
  } catch (error) {
    console.error(`random mix failed with THREADFLOW_SEED=${seed}`);
    throw error;
  }
});

async function runMix(seed: number): Promise<void> {
  const random = seededRandom(seed);
  const tf = await startEngine({
    workers: 2,
    concurrencyPerWorker: 2,
    cancelGraceMs: 60,
    backoffMs: 5,
    maxBackoffMs: 20,
    progressIntervalMs: 0,
  });
  const events: ThreadFlowEvent[] = [];
  const statusOf = new Map<string, TaskStatus>();
  const terminalCount = new Map<string, number>();
  const problems: string[] = [];
  const runs = new Map<string, number>();
  const cancelEvents = new Set<string>();
  tf.on((event) => {
    events.push(event);
    if (!("task" in event)) return;
    const { id, status } = event.task;
    const previous = statusOf.get(id);
    if (event.type === "task.progress") {
      if (previous !== "running") problems.push(`progress of ${id} while ${previous}`);
      return;
    }
    if (!canTransition(previous ?? "new", status)) {
      problems.push(`${event.type}: ${id} moved ${previous ?? "new"} -> ${status}`);
    }
    if (previous !== undefined && TERMINAL_STATUSES.has(previous)) {
      // Only retry() moves a finished task, and it starts a new run with its own terminal event.
      runs.set(id, (runs.get(id) ?? 1) + 1);
    }
    if (event.type === "task.cancelled") cancelEvents.add(id);
    statusOf.set(id, status);
    if (TERMINAL_EVENT_TYPES.has(event.type)) {
      terminalCount.set(id, (terminalCount.get(id) ?? 0) + 1);
    }
  });

  const submitted: Task[] = [];
  const cancelledOk = new Set<string>();
  const pending: Promise<void>[] = [];
  let retried = 0;
  try {
    for (let i = 0; i < TASKS; i++) {
      if (random() < 0.1) {
        const size = 2 + Math.floor(random() * 4);
        const inputs = Array.from({ length: size }, () => randomInput(random));
        for (const result of await tf.submitBatch(inputs)) submitted.push(result);
      } else {
        submitted.push(await tf.submit(randomInput(random)));
      }
      // Retry something now and then: only failed or cancelled tasks may be.
      if (random() < 0.08) {
        const target = submitted[Math.floor(random() * submitted.length)];
        const wait = Math.floor(random() * 40);
        pending.push((async () => {
          await delay(wait);
          try {
            await tf.retry(target.id);
            retried++;
          } catch (error) {
            if (!(error instanceof TaskConflictError)) throw error;
          }
        })());
      }
      // Cancel something now and then, at a random moment, without waiting for it.
      if (random() < 0.3 && submitted.length > 0) {
        const victim = submitted[Math.floor(random() * submitted.length)];
        const wait = Math.floor(random() * 40);
        pending.push((async () => {
          await delay(wait);
          try {
            const task = await tf.cancel(victim.id);
            assertEquals(task.status, "cancelled");
            cancelledOk.add(victim.id);
          } catch (error) {
            if (!(error instanceof TaskConflictError)) throw error;
          }
        })());
      }
      if (random() < 0.2) await delay(Math.floor(random() * 15));
    }
    await Promise.all(pending);
    const finals = await Promise.all(submitted.map((t) => tf.wait(t.id)));
    await waitAllIdle(tf, 15_000);

    assertEquals(problems, [], "illegal moves seen in the event stream");
    for (const task of finals) {
      const count = terminalCount.get(task.id) ?? 0;
      const expected = runs.get(task.id) ?? 1;
      assertEquals(count, expected, `terminal events of ${task.type} ${task.id} (runs)`);
      assert(
        task.status === "succeeded" || task.status === "failed" || task.status === "cancelled",
        `${task.id} ended ${task.status}`,
      );
      assertEquals(statusOf.get(task.id), task.status, `last event vs wait() of ${task.id}`);
      assertEquals((await tf.get(task.id))?.status, task.status);
      if (cancelledOk.has(task.id)) {
        assert(
          cancelEvents.has(task.id),
          `${task.id} was cancelled without a task.cancelled event`,
        );
        if (expected === 1) assertEquals(task.status, "cancelled", `${task.id} was cancelled`);
      }
      if (task.status === "failed" && INNOCENT.has(task.type)) {
        // Only a neighbour's crash can fail an innocent task.
        assertEquals(
          task.error?.name,
          "WorkerExitedError",
          `${task.type} failed: ${task.error?.message}`,
        );
      }
      if (task.status === "failed" && task.type === "blocks") {
        const name = task.error?.name ?? "";
        assert(["TimeoutError", "WorkerExitedError"].includes(name), `blocks failed with ${name}`);
      }
      if (task.status === "succeeded" && task.type === "throws") {
        throw new Error(`a throws task succeeded: ${task.id}`);
      }
      assert(task.attempts <= task.maxAttempts, `${task.id} ran ${task.attempts} attempts`);
    }
    if (cancelledOk.size === 0) console.warn(`seed ${seed}: no cancel happened`);

    const stats = await tf.stats();
    assertEquals(stats.counts.scheduled + stats.counts.queued + stats.counts.running, 0);
    assertEquals(
      stats.counts.succeeded + stats.counts.failed + stats.counts.cancelled,
      submitted.length,
    );
    const manualRetries = [...runs.values()].reduce((sum, n) => sum + n - 1, 0);
    assertEquals(manualRetries, retried, "every successful retry() started exactly one new run");
    const byStatus = { succeeded: 0, failed: 0, cancelled: 0 };
    for (const task of finals) byStatus[task.status as keyof typeof byStatus]++;
    assertEquals(stats.counts.succeeded, byStatus.succeeded);
    assertEquals(stats.counts.failed, byStatus.failed);
    assertEquals(stats.counts.cancelled, byStatus.cancelled);
    const storeCounts = await tf.store.counts();
    assertEquals(storeCounts, stats.counts, "store and engine agree");

    const workers = tf.workers();
    assert(workers.every((w) => w.state === "idle" && w.taskIds.length === 0), "workers idle");
    assertEquals(stats.workers.busy, 0);
    assertEquals(stats.workers.total, 2);
    const replaced = events.filter((e) => e.type === "worker.exited").length;
    assertEquals(stats.workers.restarts, replaced, "every replacement is counted");
    for (let i = 1; i < events.length; i++) {
      assertEquals(events[i].seq, events[i - 1].seq + 1, "seq grows by one");
    }
  } finally {
    await tf.close({ drainMs: 0 });
  }
}
