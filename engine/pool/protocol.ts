/**
 * Messages between the pool (main thread) and a task worker. Shared by both
 * sides; kept as plain tuples and flat number arrays so structured clone
 * stays cheap.
 *
 * A job is known on both sides by its claim cell and sequence number (see
 * `claims.ts`): the worker claims a job in shared memory before it starts it,
 * so the pool knows exactly which jobs have started and can take back the
 * ones that have not.
 *
 * @module
 */

import type { ParentOutcome, ProgressValue, TaskError } from "../model/task.ts";

/** Job flag: report the start at once (the type is not known to be quick). */
export const REPORT_START = 1;

/**
 * One task handed to a worker:
 * `[id, type, payload, attempt, cell, seq, flags, parents?]`.
 */
export type Job = [
  id: string,
  type: string,
  payload: unknown,
  attempt: number,
  cell: number,
  seq: number,
  flags: number,
  parents?: ParentOutcome[],
];

/**
 * Outcome of one job: `[cell, seq, ok, value, startedAt, runMs, payload?]`.
 * `value` is the result, or a {@linkcode TaskError}; `startedAt` is when the
 * handler was called (ms since epoch, fractional); `runMs` the handler's own
 * run time; a byte payload moved to the worker comes back as `payload`.
 */
export type JobOutcome = [
  cell: number,
  seq: number,
  ok: boolean,
  value: unknown,
  startedAt: number,
  runMs: number,
  payload?: Uint8Array,
];

/** Main thread → worker. */
export type ToWorker =
  | {
    kind: "init";
    slot: number;
    concurrency: number;
    /** How many jobs the pool may send ahead (the number of claim cells). */
    capacity: number;
    /** Claim cells shared with the pool, or `null` (every job it is sent is its own). */
    cells: Int32Array | null;
    /** Start times by cell, written before a claim. */
    starts: Float64Array | null;
    /**
     * In a worker process: later messages come as MessagePack bodies, and
     * replies go as frames (see `frames.ts`). Default `false`.
     */
    frames?: boolean;
  }
  | { kind: "run"; jobs: Job[] }
  | { kind: "abort"; cell: number; seq: number };

/** Worker → main thread. */
export type FromWorker =
  | { kind: "ready"; invalid: Array<{ type: string; url: string; reason: string }> }
  /**
   * What happened since the last report, in order: `outcomes` first, then
   * `starts` as flat `[cell, seq, startedAt]` triples of jobs still running.
   */
  | { kind: "report"; outcomes: JobOutcome[]; starts: number[] }
  | { kind: "progress"; cell: number; seq: number; value: ProgressValue }
  | { kind: "exiting"; reason: string };

/** Turns anything thrown into a {@linkcode TaskError}. */
export function toTaskError(error: unknown): TaskError {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  if (error instanceof DOMException) {
    return { name: error.name, message: error.message };
  }
  return { name: "Error", message: typeof error === "string" ? error : String(error) };
}

/** A progress report as a fraction from 0 to 1. */
export function toFraction(value: ProgressValue): number {
  const fraction = typeof value === "number"
    ? value
    : value.total > 0
    ? value.done / value.total
    : 0;
  return Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
}
