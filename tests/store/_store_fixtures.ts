/**
 * What the store conformance suites share: the harness a store kind
 * provides, tasks and schedules as the engine would write them, and how a
 * test of the suite is registered.
 *
 * @module
 */

import { v7 as uuidv7 } from "uuid";
import type { Task } from "../../engine/model/task.ts";
import type { TaskStore } from "../../engine/store/store.ts";
import type { StoredSchedule } from "../../engine/model/schedule.ts";

/** Makes stores for one test and cleans up after it. */
export interface StoreHarness {
  /** A new store object, not opened. Over the same data as earlier ones from this harness. */
  create(): TaskStore;
  /** Deletes what the test left (files, schema). Stores are closed first. */
  cleanup(): Promise<void>;
}

/** How to run the suite against one kind of store. */
export interface ConformanceOptions {
  /** Test name prefix, e.g. `sqlite`. */
  name: string;
  /** A fresh harness per test. */
  harness(): Promise<StoreHarness>;
  /** Data survives close + reopen (durable stores). */
  durable: boolean;
  /** A shared store: `open()` returns `[]` (the queue stays in the database). */
  shared?: boolean;
  /** Skip everything, with this reason, when a prerequisite is missing. */
  ignore?: string;
}

/** A task as the engine would insert it; `overrides` win. */
export function makeTask(overrides: Partial<Task> = {}): Task {
  const now = Date.now();
  return {
    id: uuidv7(),
    type: "noop",
    payload: { n: 1 },
    priority: 5,
    status: "queued",
    attempts: 0,
    maxAttempts: 1,
    timeoutMs: 60_000,
    progress: null,
    result: null,
    error: null,
    createdAt: now,
    runAt: now,
    startedAt: null,
    finishedAt: null,
    workerId: null,
    idempotencyKey: null,
    nodeId: null,
    ...overrides,
  };
}

/** A schedule as the engine would save it; `overrides` win. */
export function makeSchedule(overrides: Partial<StoredSchedule> = {}): StoredSchedule {
  return {
    name: "every-minute",
    cron: "* * * * *",
    timezone: "UTC",
    task: { type: "noop" },
    overlap: "allow",
    catchUp: "latest",
    paused: false,
    createdAt: 1_000,
    updatedAt: 1_000,
    nextRunAt: 60_000,
    lastTick: null,
    lastTaskId: null,
    ...overrides,
  };
}

/** A copy of `task` with `changes`, as the engine writes after a transition. */
export function changed(task: Task, changes: Partial<Task>): Task {
  return { ...task, ...changes };
}

/**
 * Opens a store from `harness`, runs `fn`, and closes it (and cleans up) even
 * when `fn` throws.
 */
export async function withStore<S extends TaskStore = TaskStore>(
  harness: StoreHarness,
  fn: (store: S) => Promise<void>,
): Promise<void> {
  const store = harness.create() as S;
  try {
    await store.open();
    await fn(store);
  } finally {
    await store.close();
    await harness.cleanup();
  }
}

/**
 * Registers one test of the suite for one store kind: named after the kind,
 * given a fresh harness, and ignored when the kind cannot run it (a `durable`
 * test on a store that keeps nothing, a `localOnly` one on a shared store).
 */
export type ConformanceTest = (
  name: string,
  fn: (harness: StoreHarness) => Promise<void>,
  durable?: boolean,
  localOnly?: boolean,
) => void;

/** The {@linkcode ConformanceTest} of one store kind. */
export function conformanceTest(
  options: Omit<ConformanceOptions, "durable"> & { durable?: boolean },
): ConformanceTest {
  return (name, fn, durable = false, localOnly = false) => {
    Deno.test({
      name: `${options.name}: ${name}`,
      ignore: options.ignore !== undefined || (durable && !options.durable) ||
        (localOnly && options.shared === true),
      fn: async () => fn(await options.harness()),
    });
  };
}
