/**
 * Private to the SQLite store: conversions between `Task` objects and rows.
 * JSON values are stored as text, bytes as BLOBs.
 *
 * @module
 */

import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type {
  ParentFailurePolicy,
  Task,
  TaskAttempt,
  TaskError,
  TaskStatus,
} from "../../model/task.ts";

/** Prepares (and caches) a statement. */
export type Prepare = (sql: string) => StatementSync;

/** A {@linkcode Prepare} on `db` that prepares each SQL text once. */
export function cachedPrepare(db: DatabaseSync): Prepare {
  const statements = new Map<string, StatementSync>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
}

export function attempt(run: () => unknown): { ok: boolean; value: unknown } {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    return { ok: false, value: error };
  }
}

export function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, "");
}

/** JSON text for a JSON value, the bytes themselves for a `Uint8Array`, NULL for `undefined`. */
export function encodeValue(value: unknown): string | Uint8Array | null {
  if (value === undefined) return null;
  if (value instanceof Uint8Array) return value;
  return JSON.stringify(value) ?? null;
}

export function encodeError(error: TaskError | null | undefined): string | null {
  return error ? JSON.stringify(error) : null;
}

export function decodeValue(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Uint8Array) return value;
  return JSON.parse(value as string);
}

/** Inserts a task: the parameters are {@linkcode taskToRow}'s. */
export const INSERT_SQL = `
  INSERT INTO tasks (
    id, type, payload, priority, status, attempts, max_attempts, timeout_ms, progress, result,
    error, created_at, run_at, started_at, finished_at, worker_id, idempotency_key, node_id,
    depends_on, on_parent_failure, schedule_name, schedule_tick, retry_of
  ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`;

/**
 * Writes a task's changes: the parameters are {@linkcode taskToUpdateRow}'s.
 * The payload, type, priority, creation time and idempotency key never change
 * after insert, so a write leaves them alone: it does not rewrite large
 * payloads, and setting even an unchanged priority would rewrite the task's
 * entry in the priority index (about 2 µs per write).
 */
export const UPDATE_SQL = `
  UPDATE tasks SET status = ?, attempts = ?, max_attempts = ?, timeout_ms = ?,
    progress = ?, result = ?, error = ?, run_at = ?, started_at = ?, finished_at = ?,
    worker_id = ?, node_id = ?, history = ?
  WHERE id = ?`;

export function taskToRow(task: Task): SQLInputValue[] {
  return [
    task.id,
    task.type,
    encodeValue(task.payload),
    task.priority,
    task.status,
    task.attempts,
    task.maxAttempts,
    task.timeoutMs,
    task.progress ?? null,
    encodeValue(task.result),
    encodeError(task.error),
    task.createdAt,
    task.runAt,
    task.startedAt ?? null,
    task.finishedAt ?? null,
    task.workerId ?? null,
    task.idempotencyKey ?? null,
    task.nodeId ?? null,
    task.dependsOn === undefined ? null : JSON.stringify(task.dependsOn),
    task.onParentFailure ?? null,
    task.schedule?.name ?? null,
    task.schedule?.tick ?? null,
    task.retryOf ?? null,
  ];
}

export function taskToUpdateRow(task: Task): SQLInputValue[] {
  return [
    task.status,
    task.attempts,
    task.maxAttempts,
    task.timeoutMs,
    task.progress ?? null,
    encodeValue(task.result),
    encodeError(task.error),
    task.runAt,
    task.startedAt ?? null,
    task.finishedAt ?? null,
    task.workerId ?? null,
    task.nodeId ?? null,
    task.history === undefined ? null : JSON.stringify(task.history),
    task.id,
  ];
}

export function rowToTask(row: Record<string, unknown>): Task {
  const task: Task = {
    id: row.id as string,
    type: row.type as string,
    payload: decodeValue(row.payload),
    priority: row.priority as number,
    status: row.status as TaskStatus,
    attempts: row.attempts as number,
    maxAttempts: row.max_attempts as number,
    timeoutMs: row.timeout_ms as number,
    progress: row.progress as number | null,
    result: decodeValue(row.result),
    error: row.error === null ? null : JSON.parse(row.error as string) as TaskError,
    createdAt: row.created_at as number,
    runAt: row.run_at as number,
    startedAt: row.started_at as number | null,
    finishedAt: row.finished_at as number | null,
    workerId: row.worker_id as number | null,
    idempotencyKey: row.idempotency_key as string | null,
    nodeId: row.node_id as string | null,
  };
  if (row.depends_on !== null && row.depends_on !== undefined) {
    task.dependsOn = JSON.parse(row.depends_on as string) as string[];
    task.onParentFailure = (row.on_parent_failure ?? "cancel") as ParentFailurePolicy;
  }
  if (row.schedule_name !== null && row.schedule_name !== undefined) {
    task.schedule = { name: row.schedule_name as string, tick: row.schedule_tick as number };
  }
  if (row.history !== null && row.history !== undefined) {
    task.history = JSON.parse(row.history as string) as TaskAttempt[];
  }
  if (row.retry_of !== null && row.retry_of !== undefined) task.retryOf = row.retry_of as string;
  return task;
}
