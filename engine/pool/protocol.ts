/**
 * Messages between the pool (main thread) and a task worker. Shared by both
 * sides; kept as plain tuples and objects so structured clone stays cheap.
 *
 * @module
 */

import type { ProgressValue, TaskError } from "../model/task.ts";

/** One task handed to a worker: `[id, type, payload, attempt]`. */
export type Job = [id: string, type: string, payload: unknown, attempt: number];

/**
 * Outcome of one job: `[id, ok, value, runMs, payload?]`. `value` is the
 * result, or a {@linkcode TaskError}; `runMs` is the handler's own run time; a
 * byte payload moved to the worker comes back as `payload`.
 */
export type JobOutcome = [
  id: string,
  ok: boolean,
  value: unknown,
  runMs: number,
  payload?: Uint8Array,
];

/** Main thread → worker. */
export type ToWorker =
  | { kind: "init"; slot: number; concurrency: number }
  | { kind: "run"; jobs: Job[] }
  | { kind: "abort"; id: string };

/** Worker → main thread. */
export type FromWorker =
  | { kind: "ready"; invalid: Array<{ type: string; url: string; reason: string }> }
  | { kind: "done"; outcomes: JobOutcome[] }
  | { kind: "progress"; id: string; value: ProgressValue }
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
