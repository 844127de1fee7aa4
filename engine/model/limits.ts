/**
 * The limits and defaults of the task model, defined once: the engine
 * enforces them, and the HTTP schemas and the OpenAPI document import them.
 *
 * @example
 * ```ts
 * import { MAX_PRIORITY, MIN_PRIORITY } from "./engine/model/limits.ts";
 * const valid = (p: number) => Number.isInteger(p) && p >= MIN_PRIORITY && p <= MAX_PRIORITY;
 * ```
 *
 * @module
 */

/** Lowest priority. */
export const MIN_PRIORITY = 1;
/** Highest (most urgent) priority. */
export const MAX_PRIORITY = 10;
/** Priority of a task submitted without one. */
export const DEFAULT_PRIORITY = 5;

/** Longest timeout a task may ask for: one day. */
export const MAX_TIMEOUT_MS = 86_400_000;
/** Run time limit of tasks that set none (engine option `defaultTimeoutMs`). */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** Most attempts a task may ask for. */
export const MAX_ATTEMPTS = 100;
/** Furthest a task may be delayed: one year. */
export const MAX_DELAY_MS = 365 * 86_400_000;
/** Longest idempotency key. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
/** Largest payload by default (engine option `maxPayloadBytes`): 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Most waiting tasks by default (engine option `maxQueued`). */
export const DEFAULT_MAX_QUEUED = 1_000_000;
/** Most tasks in one batch submit. */
export const MAX_BATCH = 10_000;

/** Tasks in a list page when the query sets no limit. */
export const DEFAULT_PAGE_SIZE = 50;
/** Most tasks in one list page. */
export const MAX_PAGE_SIZE = 1000;

/** A list page size clamped to 1–{@linkcode MAX_PAGE_SIZE} (default {@linkcode DEFAULT_PAGE_SIZE}). */
export function pageSize(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(limit)));
}

/** Most tasks one task may depend on. */
export const MAX_DEPENDENCIES = 100;

/** Most a task type's limit (concurrency, starts per second, burst) may be set to. */
export const MAX_TYPE_LIMIT = 1_000_000;
