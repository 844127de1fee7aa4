/**
 * The task worker runtime: runs the jobs the pool sends, at most
 * `concurrency` at a time, claiming each in shared memory before it starts,
 * and reporting outcomes and starts in batches.
 *
 * A worker's entry module (made by the pool) imports this runtime and the
 * task modules of one permission group statically, then calls
 * {@linkcode registerTaskTypes}: static imports load with the worker, so a
 * worker without read permission can still run its task modules.
 *
 * Reports: a job of a type the pool knows to be quick is reported once, with
 * its outcome; any other job's start is reported the moment it starts (so
 * "running" is true at once), flushing the outcomes before it so the pool
 * never sees more jobs running than the worker runs.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import type { ParentOutcome, ProgressValue } from "../model/task.ts";
import type { TaskContext, TaskHandler } from "./context.ts";
import {
  type FromWorker,
  type Job,
  OutcomePacker,
  OutcomeReader,
  type Report,
  REPORT_START,
  startsReport,
  toTaskError,
  type ToWorker,
  unpackJobs,
} from "./protocol.ts";

/** Least time between two progress messages of one task. */
const PROGRESS_INTERVAL_MS = 50;

const handlers = new Map<string, TaskHandler>();
/**
 * Running jobs' abort controllers, by cell: made when a handler first reads
 * `ctx.signal` (most never do), or when an abort arrives first.
 */
const controllers = new Map<number, AbortController>();
/** Cells of running jobs. */
const runningCells = new Set<number>();
/** Jobs asked to abort before they started, as `cell:seq`. */
const abortedEarly = new Set<string>();
const backlog: Job[] = [];
let backlogHead = 0;
let concurrency = 1;
let running = 0;
let cells: Int32Array | null = null;
let starts: Float64Array | null = null;
const outbox = new OutcomePacker();
let startReports: number[] = [];
let transfers: Transferable[] = [];
let flushTimer: ReturnType<typeof setTimeout> | undefined;
const timeOrigin = performance.timeOrigin;

/** How a worker inside a worker process reads and writes frames (see `frames.ts`). */
export interface FrameCodec {
  /** A whole frame (length and MessagePack) for `message`; throws for what cannot be sent. */
  encode(message: unknown): Uint8Array;
  /** A MessagePack body back into a message. */
  decode(body: Uint8Array): unknown;
}

/**
 * In a worker process: messages travel as frames, made here, off the
 * process's main thread. Set by the process's entry module, so thread
 * workers never load MessagePack.
 */
let codec: FrameCodec | null = null;
/** Frames are in use (the pool said so at init). */
let frames: FrameCodec | null = null;

/** Lets this worker speak frames when the pool asks (called by a worker process's entry module). */
export function useFrames(frameCodec: FrameCodec): void {
  codec = frameCodec;
}

function post(message: FromWorker, transfer: Transferable[] = []): void {
  if (frames !== null) {
    // Throws, like postMessage, for a value that cannot be sent.
    const frame = frames.encode(message);
    self.postMessage(frame, [frame.buffer]);
    return;
  }
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

self.onmessage = (event: MessageEvent<ToWorker | Uint8Array>) => {
  const message = event.data instanceof Uint8Array
    ? codec!.decode(event.data) as ToWorker
    : event.data;
  switch (message.kind) {
    case "init":
      concurrency = message.concurrency;
      cells = message.cells;
      starts = message.starts;
      if (message.frames === true) frames = codec;
      post({ kind: "ready", invalid });
      break;
    case "run": {
      const jobs = unpackJobs(message.jobs);
      // In a process, the cells are this worker's own: each job is claimable as it arrives.
      if (frames !== null && cells !== null) {
        for (const job of jobs) Atomics.store(cells, job[4], job[5]);
      }
      for (const job of jobs) backlog.push(job);
      pump();
      break;
    }
    case "abort": {
      if (runningCells.has(message.cell)) controllerOf(message.cell).abort(cancelledError());
      else abortedEarly.add(`${message.cell}:${message.seq}`);
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

/** A report is sent at least this often (ms) while jobs run back to back. */
const REPORT_EVERY_MS = 1;
let lastReport = 0;

function pump(): void {
  // Outcomes already reached go out before the next job, once a while: the job may be long.
  if (outbox.size > 0 && performance.now() - lastReport > REPORT_EVERY_MS) flush();
  while (running < concurrency && backlogHead < backlog.length) {
    const job = backlog[backlogHead];
    backlog[backlogHead++] = undefined as unknown as Job;
    start(job);
  }
  if (backlogHead === backlog.length) {
    backlog.length = 0;
    backlogHead = 0;
  }
}

function controllerOf(cell: number): AbortController {
  let controller = controllers.get(cell);
  if (controller === undefined) {
    controller = new AbortController();
    controllers.set(cell, controller);
  }
  return controller;
}

/** What a handler receives; the signal is made on first use. */
const EMPTY: readonly ParentOutcome[] = Object.freeze([]);

class Context implements TaskContext {
  readonly taskId: string;
  readonly attempt: number;
  readonly parents: readonly ParentOutcome[];
  #cell: number;
  #seq: number;
  #lastProgressAt = 0;

  constructor(
    taskId: string,
    attempt: number,
    cell: number,
    seq: number,
    parents: readonly ParentOutcome[],
  ) {
    this.taskId = taskId;
    this.attempt = attempt;
    this.parents = parents;
    this.#cell = cell;
    this.#seq = seq;
  }

  get signal(): AbortSignal {
    return controllerOf(this.#cell).signal;
  }

  progress(value: ProgressValue): void {
    const at = Date.now();
    if (at - this.#lastProgressAt < PROGRESS_INTERVAL_MS) return;
    this.#lastProgressAt = at;
    post({ kind: "progress", cell: this.#cell, seq: this.#seq, value });
  }
}

function cancelledError(): DOMException {
  return new DOMException("The task was cancelled.", "AbortError");
}

function now(): number {
  return timeOrigin + performance.now();
}

/** Claims and runs one job; a job the pool took back (or gave to another worker) is skipped. */
function start(job: Job): void {
  const [id, type, payload, attempt, cell, seq, flags, parents] = job;
  const startedAt = now();
  if (cells !== null) {
    // Not this worker's to run any more (taken back, or its cell reused): skip it, leaving
    // the cell's start time to the job that holds it now.
    if (Atomics.load(cells, cell) !== seq) return;
    starts![cell] = startedAt;
    if (Atomics.compareExchange(cells, cell, seq, -seq) !== seq) return;
  }
  running++;
  if (abortedEarly.size > 0 && abortedEarly.delete(`${cell}:${seq}`)) {
    // Cancelled before it started: never run it.
    queueMicrotask(() =>
      settle(cell, seq, false, toTaskError(cancelledError()), payload, startedAt, startedAt)
    );
    return;
  }
  if ((flags & REPORT_START) !== 0) {
    startReports.push(cell, seq, startedAt);
    flush();
  }
  runningCells.add(cell);
  const ctx = new Context(id, attempt, cell, seq, parents ?? EMPTY);
  const began = performance.now();
  let result: unknown;
  try {
    result = handlers.get(type)!(payload, ctx);
  } catch (error) {
    settle(cell, seq, false, toTaskError(error), payload, startedAt, began);
    return;
  }
  if (result instanceof Promise) {
    result.then(
      (value) => settleResult(cell, seq, value, payload, startedAt, began),
      (error) => settle(cell, seq, false, toTaskError(error), payload, startedAt, began),
    );
  } else {
    // Settle on a microtask like an async handler would, keeping one code path for ordering.
    queueMicrotask(() => settleResult(cell, seq, result, payload, startedAt, began));
  }
}

/**
 * Settles a returned value: a result must be a JSON value or bytes, like a
 * payload, or no store could keep it and no answer could carry it. Checked
 * here, off the main thread, and only for values JSON can fail on.
 */
function settleResult(
  cell: number,
  seq: number,
  value: unknown,
  payload: unknown,
  startedAt: number,
  began: number,
): void {
  if (
    typeof value === "bigint" ||
    (typeof value === "object" && value !== null && !(value instanceof Uint8Array))
  ) {
    try {
      JSON.stringify(value);
    } catch (error) {
      const failure = toTaskError(error);
      failure.name = "ResultNotStorableError";
      failure.message =
        `The task's result cannot be stored: a result must be a JSON value or bytes (${failure.message}).`;
      settle(cell, seq, false, failure, payload, startedAt, began);
      return;
    }
  }
  settle(cell, seq, true, value, payload, startedAt, began);
}

function settle(
  cell: number,
  seq: number,
  ok: boolean,
  value: unknown,
  payload: unknown,
  startedAt: number,
  began: number,
): void {
  if (controllers.size > 0) controllers.delete(cell);
  runningCells.delete(cell);
  running--;
  // Done: the pool's watch of the claim cells no longer counts it as running.
  if (cells !== null) Atomics.store(cells, cell, 0);
  // Bytes move back without copying; the pool gives a moved payload back to its task.
  const bytes = payload instanceof Uint8Array ? payload : undefined;
  const runMs = performance.now() - began;
  outbox.add(cell, seq, ok, value, startedAt, runMs, bytes);
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
  if (outbox.size === 0 && startReports.length === 0) return;
  lastReport = performance.now();
  const report = outbox.report(startReports);
  const transfer = transfers;
  startReports = [];
  transfers = [];
  try {
    post(report, transfer);
  } catch {
    // Some result cannot be cloned (a function, a class instance with private state...).
    // Send the outcomes one by one so only the offending tasks fail.
    postEach(report);
  }
}

/** Posts a report's outcomes one report each, failing those whose value cannot be sent. */
function postEach(report: Report): void {
  const reader = new OutcomeReader(report);
  const single = new OutcomePacker();
  while (reader.next()) {
    const { cell, seq, startedAt, runMs } = reader;
    single.add(cell, seq, reader.ok, reader.value, startedAt, runMs, reader.payload);
    try {
      post(single.report([]));
    } catch (error) {
      const failure = toTaskError(error);
      failure.message = `The task's result cannot be sent from the worker: ${failure.message}`;
      single.add(cell, seq, false, failure, startedAt, runMs);
      post(single.report([]));
    }
  }
  if (report.starts.length > 0) post(startsReport(report.starts));
}
