/**
 * Private to the PostgreSQL store: the SQL that moves task rows, and the
 * conversions between `Task` objects, JSON-record rows and result rows.
 *
 * Tasks travel to PostgreSQL as one JSON array per statement, unpacked with
 * `json_to_recordset`: one parameter whatever the batch size. JSON values
 * stay text (exact round trip); bytes travel as base64 into `bytea`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type {
  ParentFailurePolicy,
  Task,
  TaskAttempt,
  TaskError,
  TaskStatus,
} from "../../model/task.ts";
import type { UnsafeQueryable } from "./migrations.ts";
import type { InsertOutcome } from "../store.ts";

/** A row as postgres.js returns it. */
export type Row = Record<string, unknown>;

/** A UUID, as task ids are; anything else cannot be in the `uuid` column. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** SQL condition of finished tasks (matches the partial index on `finished_at`). */
export const FINISHED_SQL = "status IN ('succeeded', 'failed', 'cancelled')";
/** The database clock in ms since epoch, as SQL. */
export const NOW_MS = "(extract(epoch FROM now()) * 1000)::bigint";

const RECORD = `id uuid, type text, payload text, payload_bytes text, priority smallint,
  status text, attempts integer, max_attempts integer, timeout_ms bigint,
  progress double precision, result text, result_bytes text, error text, created_at bigint,
  run_at bigint, started_at bigint, finished_at bigint, worker_id integer,
  idempotency_key text, node_id text, lease_token uuid, depends_on uuid[],
  on_parent_failure text, schedule_name text, schedule_tick bigint, history text,
  retry_of uuid`;

const INSERT_SQL = `
  INSERT INTO tasks (id, type, payload, payload_bytes, priority, status, attempts, max_attempts,
    timeout_ms, progress, result, result_bytes, error, created_at, run_at, started_at,
    finished_at, worker_id, idempotency_key, node_id, depends_on, on_parent_failure,
    schedule_name, schedule_tick, retry_of)
  SELECT id, type, payload, decode(payload_bytes, 'base64'), priority, status, attempts,
    max_attempts, timeout_ms, progress, result, decode(result_bytes, 'base64'), error,
    created_at, run_at, started_at, finished_at, worker_id, idempotency_key, node_id,
    depends_on, on_parent_failure, schedule_name, schedule_tick, retry_of
  FROM json_to_recordset($1::text::json) AS v(${RECORD})
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id`;

/**
 * UPDATE from a JSON array of tasks, optionally fenced by lease token; returns
 * the ids written. The payload, type, creation time and idempotency key never
 * change after insert. A write that finishes the task or schedules it for
 * later ends its lease; a fenced write needs the task still held
 * (`running`, or `queued` and claimed) under the same token.
 */
export function updateSql(fenced: boolean): string {
  return `
  UPDATE tasks t SET priority = v.priority, status = v.status, attempts = v.attempts,
    max_attempts = v.max_attempts, timeout_ms = v.timeout_ms, progress = v.progress,
    result = v.result, result_bytes = decode(v.result_bytes, 'base64'), error = v.error,
    run_at = v.run_at, started_at = v.started_at, finished_at = v.finished_at,
    worker_id = v.worker_id, node_id = v.node_id, history = v.history,
    lease_token = CASE WHEN v.status IN ('running', 'queued') THEN t.lease_token END,
    lease_expires_at = CASE WHEN v.status IN ('running', 'queued') THEN t.lease_expires_at END
  FROM json_to_recordset($1::text::json) AS v(${RECORD})
  WHERE t.id = v.id${
    fenced ? " AND t.status IN ('queued', 'running') AND t.lease_token = v.lease_token" : ""
  }
  RETURNING t.id`;
}

/** Inserts tasks in one statement; a taken idempotency key yields the existing task. */
export async function insertRows(sql: UnsafeQueryable, tasks: Task[]): Promise<InsertOutcome[]> {
  if (tasks.length === 0) return [];
  const rows = await sql.unsafe(INSERT_SQL, [JSON.stringify(tasks.map((t) => taskToWire(t)))]);
  const created = new Set(rows.map((row) => row.id as string));
  const keys = tasks.filter((t) => !created.has(t.id)).map((t) => t.idempotencyKey);
  const existing = new Map<string, Task>();
  if (keys.length > 0) {
    const found = await sql.unsafe("SELECT * FROM tasks WHERE idempotency_key = ANY($1::text[])", [
      keys,
    ]);
    for (const row of found) existing.set(row.idempotency_key as string, rowToTask(row));
  }
  return tasks.map((task) =>
    created.has(task.id)
      ? { task: { ...task }, created: true }
      : { task: existing.get(task.idempotencyKey!)!, created: false }
  );
}

/** `promise`, or a rejection with `message` after `ms`. */
export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The outcome of `promise`, never a rejection. */
export async function settle(promise: Promise<unknown>): Promise<{ ok: boolean; value: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, value: error };
  }
}

function encodeValue(value: unknown): [string | null, string | null] {
  if (value === undefined) return [null, null];
  if (value instanceof Uint8Array) {
    return [null, Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")];
  }
  return [JSON.stringify(value) ?? null, null];
}

function decodeValue(text: unknown, bytes: unknown): unknown {
  if (bytes instanceof Uint8Array) return new Uint8Array(bytes);
  if (text === null || text === undefined) return undefined;
  return JSON.parse(text as string);
}

/** A task as one element of the JSON array `json_to_recordset` unpacks. */
export function taskToWire(task: Task, leaseToken?: string): Row {
  const [payload, payloadBytes] = encodeValue(task.payload);
  const [result, resultBytes] = encodeValue(task.result);
  return {
    id: task.id,
    type: task.type,
    payload,
    payload_bytes: payloadBytes,
    priority: task.priority,
    status: task.status,
    attempts: task.attempts,
    max_attempts: task.maxAttempts,
    timeout_ms: task.timeoutMs,
    progress: task.progress ?? null,
    result,
    result_bytes: resultBytes,
    error: task.error ? JSON.stringify(task.error) : null,
    created_at: task.createdAt,
    run_at: task.runAt,
    started_at: task.startedAt ?? null,
    finished_at: task.finishedAt ?? null,
    worker_id: task.workerId ?? null,
    idempotency_key: task.idempotencyKey ?? null,
    node_id: task.nodeId ?? null,
    lease_token: leaseToken ?? null,
    depends_on: task.dependsOn ?? null,
    on_parent_failure: task.onParentFailure ?? null,
    schedule_name: task.schedule?.name ?? null,
    schedule_tick: task.schedule?.tick ?? null,
    history: task.history === undefined ? null : JSON.stringify(task.history),
    retry_of: task.retryOf ?? null,
  };
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** A `tasks` row as a `Task` (bigint columns come back as strings). */
export function rowToTask(row: Row): Task {
  const task: Task = {
    id: row.id as string,
    type: row.type as string,
    payload: decodeValue(row.payload, row.payload_bytes),
    priority: row.priority as number,
    status: row.status as TaskStatus,
    attempts: row.attempts as number,
    maxAttempts: row.max_attempts as number,
    timeoutMs: Number(row.timeout_ms),
    progress: row.progress as number | null,
    result: decodeValue(row.result, row.result_bytes),
    error: row.error === null ? null : JSON.parse(row.error as string) as TaskError,
    createdAt: Number(row.created_at),
    runAt: Number(row.run_at),
    startedAt: numberOrNull(row.started_at),
    finishedAt: numberOrNull(row.finished_at),
    workerId: row.worker_id as number | null,
    idempotencyKey: row.idempotency_key as string | null,
    nodeId: row.node_id as string | null,
  };
  if (row.depends_on !== null && row.depends_on !== undefined) {
    task.dependsOn = row.depends_on as string[];
    task.onParentFailure = (row.on_parent_failure ?? "cancel") as ParentFailurePolicy;
  }
  if (row.schedule_name !== null && row.schedule_name !== undefined) {
    task.schedule = { name: row.schedule_name as string, tick: Number(row.schedule_tick) };
  }
  if (row.history !== null && row.history !== undefined) {
    task.history = JSON.parse(row.history as string) as TaskAttempt[];
  }
  if (row.retry_of !== null && row.retry_of !== undefined) task.retryOf = row.retry_of as string;
  return task;
}

/** Sort order by id (creation). */
export function byId(a: Task, b: Task): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** An error as a sentence fragment, without its final period. */
export function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, "");
}

/** postgres.js connection errors, socket errors, and PostgreSQL's connection-class SQLSTATEs. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  // 53300 too_many_connections, 53400 configuration_limit_exceeded: transient too.
  return code.startsWith("CONNECT") || code.startsWith("08") || code.startsWith("57P") ||
    code === "53300" || code === "53400" ||
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"].includes(
      code,
    );
}
