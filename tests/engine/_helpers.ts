/**
 * Shared helpers for the engine tests: small assertions (no `jsr:` imports
 * here), an engine factory wired to the fixture task modules, an event
 * recorder, a worker occupied by a `hold` task, polling and a seeded random
 * generator.
 *
 * @module
 */

import { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import type { ThreadFlowOptions } from "../../engine/facade/options.ts";
import type { TaskEvent, ThreadFlowEvent } from "../../engine/model/events.ts";
import { TERMINAL_EVENT_TYPES } from "../../engine/model/events.ts";
import type { Task } from "../../engine/model/task.ts";

/** The folder of fixture task modules (spin, throws, hold, probe, …). */
export const FIXTURE_TASKS = new URL("../fixtures/tasks/", import.meta.url);

/** A fixture folder next to `tasks/`, e.g. `tasks_no_default`. */
export function fixtureDir(name: string): URL {
  return new URL(`../fixtures/${name}/`, import.meta.url);
}

/** Thrown by the assertions below. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** Throws unless `condition` is truthy. */
export function assert(
  condition: unknown,
  message = "Expected a truthy value.",
): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Structural equality for JSON-like values, `Uint8Array`s and `Map`s. */
export function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array)) return false;
    if (a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a as Record<string, unknown>);
  const keysB = Object.keys(b as Record<string, unknown>);
  if (keysA.length !== keysB.length) return false;
  for (const key of keysA) {
    if (!Object.hasOwn(b as Record<string, unknown>, key)) return false;
    if (!equal((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) {
      return false;
    }
  }
  return true;
}

/** Throws unless `actual` equals `expected` structurally. */
export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  if (!equal(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}expected ${show(expected)}, received ${show(actual)}.`,
    );
  }
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.byteLength})`;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 600 ? text.slice(0, 600) + "…" : text;
  } catch {
    return String(value);
  }
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/** Throws unless `fn` throws an instance of `ErrorClass`; returns the error. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  ErrorClass: ErrorClass<E>,
  messageIncludes?: string,
): E {
  try {
    fn();
  } catch (error) {
    return checkError(error, ErrorClass, messageIncludes);
  }
  throw new AssertionError(`Expected ${ErrorClass.name} to be thrown, but nothing was.`);
}

/** Throws unless `promise` rejects with an instance of `ErrorClass`; returns the error. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  ErrorClass: ErrorClass<E>,
  messageIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, ErrorClass, messageIncludes);
  }
  throw new AssertionError(`Expected ${ErrorClass.name} to be thrown, but nothing was.`);
}

function checkError<E extends Error>(
  error: unknown,
  ErrorClass: ErrorClass<E>,
  messageIncludes?: string,
): E {
  if (!(error instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected ${ErrorClass.name}, received ${(error as Error)?.name}: ${
        (error as Error)?.message
      }`,
    );
  }
  if (messageIncludes !== undefined && !error.message.includes(messageIncludes)) {
    throw new AssertionError(
      `Expected the message to include ${JSON.stringify(messageIncludes)}: ${error.message}`,
    );
  }
  return error;
}

/** Starts an engine on the fixture task modules, one worker unless told otherwise. */
export function startEngine(options: ThreadFlowOptions = {}): Promise<ThreadFlow> {
  return ThreadFlow.start({ workers: 1, tasksDir: FIXTURE_TASKS, ...options });
}

/** Records every event an engine emits from now on. */
export class EventLog {
  readonly events: ThreadFlowEvent[] = [];
  readonly stop: () => void;

  constructor(tf: ThreadFlow) {
    this.stop = tf.on((event) => this.events.push(event));
  }

  /** Task events, optionally of one type and/or one task. */
  tasks(type?: string, id?: string): TaskEvent[] {
    return this.events.filter((e): e is TaskEvent =>
      "task" in e && (type === undefined || e.type === type) &&
      (id === undefined || e.task.id === id)
    );
  }

  /** Terminal events of one task. */
  terminals(id: string): TaskEvent[] {
    return this.tasks(undefined, id).filter((e) => TERMINAL_EVENT_TYPES.has(e.type));
  }

  /** Ids of tasks in the order they started (one entry per `task.started`). */
  startOrder(): string[] {
    return this.tasks("task.started").map((e) => e.task.id);
  }
}

/** Occupies the only worker with a `hold` task; returns it once it runs. */
export async function occupy(tf: ThreadFlow, log: EventLog): Promise<Task> {
  const blocker = await tf.submit({ type: "hold", priority: 10 });
  await waitFor(() => log.tasks("task.started", blocker.id).length === 1, "the blocker to start");
  return blocker;
}

// Captured before any test installs fake timers, so polling keeps real time.
const realSetTimeout = globalThis.setTimeout;

/**
 * Polls `condition` every 5 ms of real time until it holds; throws after
 * `timeoutMs`. Works while fake timers are installed.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new AssertionError(`Timed out waiting for ${what}.`);
    await delay(5);
  }
}

/** Resolves after `ms` of real time, even while fake timers are installed. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

/** Waits until every worker slot is idle (replacements started, nothing held). */
export function waitAllIdle(tf: ThreadFlow, timeoutMs = 10_000): Promise<void> {
  return waitFor(
    () => tf.workers().every((w) => w.state === "idle" && w.taskIds.length === 0),
    "every worker to be idle",
    timeoutMs,
  );
}

/** mulberry32: a small seeded generator returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
