/**
 * The task worker runtime: runs the jobs the pool sends, at most
 * `concurrency` at a time, reporting outcomes in batches.
 *
 * A worker's entry module (made by the pool) imports this runtime and the
 * task modules of one permission group statically, then calls
 * {@linkcode registerTaskTypes}: static imports load with the worker, so a
 * worker without read permission can still run its task modules.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import type { ProgressValue } from "../model/task.ts";
import type { TaskContext, TaskHandler } from "./context.ts";
import {
  type FromWorker,
  type Job,
  type JobOutcome,
  toTaskError,
  type ToWorker,
} from "./protocol.ts";

/** Least time between two progress messages of one task. */
const PROGRESS_INTERVAL_MS = 50;

const handlers = new Map<string, TaskHandler>();
const controllers = new Map<string, AbortController>();
/** Jobs cancelled while they still waited in the backlog. */
const abortedEarly = new Set<string>();
const backlog: Job[] = [];
let backlogHead = 0;
let concurrency = 1;
let running = 0;
let outbox: JobOutcome[] = [];
let transfers: Transferable[] = [];
let flushTimer: ReturnType<typeof setTimeout> | undefined;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  // Without a transfer list Deno takes a faster path.
  if (transfer.length === 0) self.postMessage(message);
  else self.postMessage(message, transfer);
}

// A handler that closes its own worker must not vanish silently: tell the pool first.
const closeWorker = self.close.bind(self);
self.close = () => {
  flush(); // outcomes already reached must not die with the worker
  post({ kind: "exiting", reason: "the task called self.close()" });
  closeWorker();
};
const exitWorker = Deno.exit;
Object.defineProperty(Deno, "exit", {
  configurable: true,
  writable: true,
  value: (code?: number): never => {
    flush();
    post({ kind: "exiting", reason: `the task called Deno.exit(${code ?? ""})` });
    return exitWorker(code);
  },
});

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.kind) {
    case "init":
      concurrency = message.concurrency;
      post({ kind: "ready", invalid });
      break;
    case "run":
      for (const job of message.jobs) backlog.push(job);
      pump();
      break;
    case "abort": {
      const controller = controllers.get(message.id);
      if (controller !== undefined) controller.abort(cancelledError());
      else abortedEarly.add(message.id);
      break;
    }
  }
};

const invalid: Array<{ type: string; url: string; reason: string }> = [];

/** Registers the task modules this worker runs; called once by the entry module. */
export function registerTaskTypes(
  modules: Record<string, { default?: unknown }>,
  sources: Record<string, string>,
): void {
  for (const [type, module] of Object.entries(modules)) {
    if (typeof module.default === "function") handlers.set(type, module.default as TaskHandler);
    else {
      invalid.push({
        type,
        url: sources[type],
        reason: "it has no default export that is a function",
      });
    }
  }
}

function pump(): void {
  while (running < concurrency && backlogHead < backlog.length) {
    const job = backlog[backlogHead++];
    running++;
    run(job);
  }
  if (backlogHead === backlog.length) {
    backlog.length = 0;
    backlogHead = 0;
  }
}

function cancelledError(): DOMException {
  return new DOMException("The task was cancelled.", "AbortError");
}

function run(job: Job): void {
  const [id, type, payload, attempt] = job;
  if (abortedEarly.delete(id)) {
    // Cancelled before it started: never run it.
    queueMicrotask(() =>
      settle(id, false, toTaskError(cancelledError()), payload, performance.now())
    );
    return;
  }
  const controller = new AbortController();
  controllers.set(id, controller);
  const started = performance.now();
  let lastProgressAt = 0;
  const ctx: TaskContext = {
    signal: controller.signal,
    taskId: id,
    attempt,
    progress(value: ProgressValue) {
      const now = Date.now();
      if (now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
      lastProgressAt = now;
      post({ kind: "progress", id, value });
    },
  };
  let result: unknown;
  try {
    result = handlers.get(type)!(payload, ctx);
  } catch (error) {
    settle(id, false, toTaskError(error), payload, started);
    return;
  }
  if (result instanceof Promise) {
    result.then(
      (value) => settle(id, true, value, payload, started),
      (error) => settle(id, false, toTaskError(error), payload, started),
    );
  } else {
    // Settle on a microtask like an async handler would, keeping one code path for ordering.
    queueMicrotask(() => settle(id, true, result, payload, started));
  }
}

function settle(id: string, ok: boolean, value: unknown, payload: unknown, started: number): void {
  controllers.delete(id);
  running--;
  // Bytes move back without copying; the pool gives a moved payload back to its task.
  const bytes = payload instanceof Uint8Array ? payload : undefined;
  outbox.push([id, ok, value, performance.now() - started, bytes]);
  if (value instanceof Uint8Array) addTransfer(value);
  if (bytes !== undefined) addTransfer(bytes);
  pump();
  if (running === 0) {
    flush();
  } else if (flushTimer === undefined) {
    flushTimer = setTimeout(flush, 0);
  }
}

function addTransfer(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (buffer instanceof ArrayBuffer && !transfers.includes(buffer)) transfers.push(buffer);
}

function flush(): void {
  if (flushTimer !== undefined) {
    clearTimeout(flushTimer);
    flushTimer = undefined;
  }
  if (outbox.length === 0) return;
  const outcomes = outbox;
  const transfer = transfers;
  outbox = [];
  transfers = [];
  try {
    post({ kind: "done", outcomes }, transfer);
  } catch {
    // Some result cannot be cloned (a function, a class instance with private state...).
    // Send the outcomes one by one so only the offending tasks fail.
    for (const outcome of outcomes) {
      try {
        post({ kind: "done", outcomes: [outcome] });
      } catch (error) {
        const [id, , , runMs] = outcome;
        const failure = toTaskError(error);
        failure.message = `The task's result cannot be sent from the worker: ${failure.message}`;
        post({ kind: "done", outcomes: [[id, false, failure, runMs]] });
      }
    }
  }
}
