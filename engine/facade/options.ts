/**
 * Engine options: defaults and validation. Every option is checked once, at
 * start, with an error naming it.
 *
 * @module
 */

import { InvalidOptionError } from "../model/errors.ts";
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_QUEUED,
  DEFAULT_TIMEOUT_MS,
  MAX_ATTEMPTS,
  MAX_TIMEOUT_MS,
} from "../model/limits.ts";
import type { TaskStore } from "../store/store.ts";

/**
 * Options for {@linkcode ThreadFlow.start}. Every option has a default.
 *
 * @example
 * ```ts
 * import { ThreadFlow } from "./mod.ts";
 * const tf = await ThreadFlow.start({ workers: 2, agingMs: 5_000 });
 * await tf.close();
 * ```
 */
export interface ThreadFlowOptions {
  /** Worker slots. Default `navigator.hardwareConcurrency`. */
  workers?: number;
  /** Tasks one worker runs at once. Default 1; raise it for async (I/O-bound) handlers. */
  concurrencyPerWorker?: number;
  /** Folder whose `*.ts` / `*.js` modules become task types named after their files. */
  tasksDir?: string | URL;
  /**
   * Where task records live: a {@linkcode TaskStore}, or a spec: `"memory"`,
   * `"sqlite"` (the file `./data/threadflow.db`), `"sqlite:PATH"`, or a
   * `postgres://` URL (`?schema=NAME`; several nodes share it). Default a new
   * in-memory store.
   */
  store?: TaskStore | string;
  /** Most tasks waiting (queued or scheduled); beyond it submit throws `QueueFullError`. Default 1,000,000. */
  maxQueued?: number;
  /** Largest payload, in bytes (JSON text or raw bytes). Default 1 MiB. */
  maxPayloadBytes?: number;
  /** A waiting task gains one priority level per this many ms; 0 is off. Default 0. */
  agingMs?: number;
  /** Run time limit for tasks that set none. Default 60,000 ms. */
  defaultTimeoutMs?: number;
  /** Attempts for tasks that set none. Default 1 (no retries). */
  defaultMaxAttempts?: number;
  /** First retry delay; doubles per attempt with ±50% jitter. Default 1,000 ms. */
  backoffMs?: number;
  /** Longest retry delay. Default 60,000 ms. */
  maxBackoffMs?: number;
  /** How long a cancelled running task may take to stop before its worker is replaced. Default 1,000 ms. */
  cancelGraceMs?: number;
  /**
   * Most tasks sent to one worker in one message when the queue is deep and
   * tasks of that type take under a millisecond (moving average): the window
   * within which priority order may bend, at most about this many
   * milliseconds of work. Default 256; 1 turns batching off.
   */
  dispatchBatch?: number;
  /** Least time between two `task.progress` events of one task. Default 100 ms. */
  progressIntervalMs?: number;
  /** Finished tasks older than this are pruned. Default 7 days. */
  retentionMs?: number;
  /** At most this many finished tasks are kept. Default 1,000,000. */
  retentionMaxFinished?: number;
  /** This node's id, in `task.nodeId` and stats. Default a random id. */
  nodeId?: string;
  /**
   * Run task workers with only the permissions their task type declares
   * (none by default). Needs Deno's `--unstable-worker-options` (or
   * `"unstable": ["worker-options"]` in deno.json). Default `true`.
   */
  sandbox?: boolean;
  /**
   * Where user task types run unless their module exports `isolation`:
   * `"thread"` (a module worker of this process) or `"process"` (a Deno
   * subprocess per worker slot, killed for sure on timeout, with a heap
   * limit and only the type's permissions). Built-in types run in threads.
   * Default `"thread"`.
   */
  isolation?: "thread" | "process";
  /** Heap limit of a worker process, MB, for types that export no `memoryLimitMb`. Default 512. */
  taskMemoryMb?: number;
  /** Shared stores: how long a claimed task's lease lasts without renewal. Default 15,000 ms. */
  leaseMs?: number;
  /** Shared stores: how often leases are renewed. Default 5,000 ms; must be under `leaseMs`. */
  heartbeatMs?: number;
}

/** {@linkcode ThreadFlowOptions} with every default filled in. */
export interface ResolvedOptions {
  workers: number;
  concurrencyPerWorker: number;
  tasksDir: URL | null;
  maxQueued: number;
  maxPayloadBytes: number;
  agingMs: number;
  defaultTimeoutMs: number;
  defaultMaxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  cancelGraceMs: number;
  dispatchBatch: number;
  progressIntervalMs: number;
  retentionMs: number;
  retentionMaxFinished: number;
  nodeId: string;
  leaseMs: number;
  heartbeatMs: number;
  sandbox: boolean;
  isolation: "thread" | "process";
  taskMemoryMb: number;
}

const KNOWN_OPTIONS = new Set([
  "workers",
  "concurrencyPerWorker",
  "tasksDir",
  "store",
  "maxQueued",
  "maxPayloadBytes",
  "agingMs",
  "defaultTimeoutMs",
  "defaultMaxAttempts",
  "backoffMs",
  "maxBackoffMs",
  "cancelGraceMs",
  "dispatchBatch",
  "progressIntervalMs",
  "retentionMs",
  "retentionMaxFinished",
  "nodeId",
  "leaseMs",
  "heartbeatMs",
  "sandbox",
  "isolation",
  "taskMemoryMb",
]);

/** Fills defaults and validates; throws {@linkcode InvalidOptionError} naming the bad option. */
export function resolveOptions(options: ThreadFlowOptions): ResolvedOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      // A misspelt option would otherwise run silently with a default.
      throw new InvalidOptionError(
        `Unknown option ${JSON.stringify(key)}: ThreadFlow takes ${[...KNOWN_OPTIONS].join(", ")}.`,
        key,
      );
    }
  }
  return {
    workers: integer(options, "workers", navigator.hardwareConcurrency || 1, 1, 1024),
    concurrencyPerWorker: integer(options, "concurrencyPerWorker", 1, 1, 10_000),
    tasksDir: tasksDirUrl(options.tasksDir),
    maxQueued: integer(options, "maxQueued", DEFAULT_MAX_QUEUED, 1, 100_000_000),
    maxPayloadBytes: integer(options, "maxPayloadBytes", DEFAULT_MAX_PAYLOAD_BYTES, 1, 1024 ** 3),
    agingMs: integer(options, "agingMs", 0, 0, MAX_TIMEOUT_MS),
    defaultTimeoutMs: integer(options, "defaultTimeoutMs", DEFAULT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS),
    defaultMaxAttempts: integer(options, "defaultMaxAttempts", 1, 1, MAX_ATTEMPTS),
    backoffMs: integer(options, "backoffMs", 1_000, 0, MAX_TIMEOUT_MS),
    maxBackoffMs: integer(options, "maxBackoffMs", 60_000, 0, MAX_TIMEOUT_MS),
    cancelGraceMs: integer(options, "cancelGraceMs", 1_000, 0, 600_000),
    dispatchBatch: integer(options, "dispatchBatch", 256, 1, 4096),
    progressIntervalMs: integer(options, "progressIntervalMs", 100, 0, 60_000),
    retentionMs: integer(options, "retentionMs", 7 * 86_400_000, 0, 3650 * 86_400_000),
    retentionMaxFinished: integer(options, "retentionMaxFinished", 1_000_000, 0, 1_000_000_000),
    nodeId: nodeId(options.nodeId),
    ...leaseTimings(options),
    sandbox: sandbox(options.sandbox),
    isolation: isolation(options.isolation),
    taskMemoryMb: integer(options, "taskMemoryMb", 512, 16, 65_536),
  };
}

function isolation(value: unknown): "thread" | "process" {
  if (value === undefined) return "thread";
  if (value !== "thread" && value !== "process") {
    throw new InvalidOptionError(
      `Option isolation must be "thread" or "process": received ${describe(value)}.`,
      "isolation",
    );
  }
  return value;
}

function leaseTimings(options: ThreadFlowOptions): { leaseMs: number; heartbeatMs: number } {
  const leaseMs = integer(options, "leaseMs", 15_000, 100, 3_600_000);
  const heartbeatMs = integer(options, "heartbeatMs", Math.min(5_000, leaseMs / 3), 10, 3_600_000);
  if (heartbeatMs >= leaseMs) {
    throw new InvalidOptionError(
      `Option heartbeatMs must be less than leaseMs (${leaseMs}): received ${heartbeatMs}.`,
      "heartbeatMs",
    );
  }
  return { leaseMs, heartbeatMs };
}

function integer(
  options: ThreadFlowOptions,
  name: keyof ThreadFlowOptions,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(
      `Option ${name} must be an integer from ${min} to ${max}: received ${describe(value)}.`,
      name,
    );
  }
  return value;
}

function sandbox(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== "boolean") {
    throw new InvalidOptionError(
      `Option sandbox must be true or false: received ${describe(value)}.`,
      "sandbox",
    );
  }
  return value;
}

function tasksDirUrl(dir: string | URL | undefined): URL | null {
  if (dir === undefined) return null;
  if (dir instanceof URL) return dir.href.endsWith("/") ? dir : new URL(dir.href + "/");
  if (typeof dir !== "string" || dir === "") {
    throw new InvalidOptionError(
      `Option tasksDir must be a folder path or URL: received ${describe(dir)}.`,
      "tasksDir",
    );
  }
  const absolute = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
  const url = new URL(`file://${absolute}`);
  return url.href.endsWith("/") ? url : new URL(url.href + "/");
}

function nodeId(id: string | undefined): string {
  if (id === undefined) return `node-${crypto.randomUUID().slice(0, 8)}`;
  if (typeof id !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
    throw new InvalidOptionError(
      `Option nodeId must be 1 to 64 letters, digits, dots, dashes or underscores: received ${
        describe(id)
      }.`,
      "nodeId",
    );
  }
  return id;
}

/** Shows a received value in an error message. */
export function describe(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 60 ? value.slice(0, 60) + "…" : value);
  }
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  return `a ${typeof value}`;
}
