/**
 * Turns a {@linkcode SubmitInput} into a new {@linkcode Task}, validating
 * every field with an error that names it.
 *
 * @module
 */

import { TASK_ID, uuidv7 } from "../model/id.ts";
import { PayloadTooLargeError, UnknownTaskTypeError, ValidationError } from "../model/errors.ts";
import {
  DEFAULT_PRIORITY,
  MAX_ATTEMPTS,
  MAX_DELAY_MS,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_PRIORITY,
  MAX_TIMEOUT_MS,
  MIN_PRIORITY,
} from "../model/limits.ts";
import type { ParentFailurePolicy, Task } from "../model/task.ts";
import { dependsOnField } from "./depends_on_field.ts";
import { describe, type ResolvedOptions } from "./options.ts";

const KNOWN_FIELDS = new Set([
  "type",
  "payload",
  "priority",
  "delayMs",
  "runAt",
  "timeoutMs",
  "maxAttempts",
  "idempotencyKey",
  "dependsOn",
  "onParentFailure",
  "retryOf",
]);

/** What building a task needs from the engine. */
export interface TaskFactoryContext {
  options: ResolvedOptions;
  hasTaskType(name: string): boolean;
}

/**
 * Validates a submit's inputs (an array; a batch holds at least one) and
 * builds their tasks; throws a `ValidationError` naming the field at fault
 * (`tasks[3].priority` in a batch).
 */
export function buildTasks(
  inputs: unknown,
  batch: boolean,
  context: TaskFactoryContext,
): Task[] {
  if (!Array.isArray(inputs)) {
    throw new ValidationError("Field tasks must be an array of tasks.", "tasks");
  }
  if (inputs.length === 0 && batch) {
    throw new ValidationError("Field tasks must hold at least one task.", "tasks");
  }
  const now = Date.now();
  const tasks = new Array<Task>(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    tasks[i] = buildTask(inputs[i], context, now, batch ? batchPrefix(i) : "", i);
  }
  refuseSharedBytes(tasks, batch);
  return tasks;
}

/** `tasks[i].` for the first few thousand `i`, made once: a batch's field names in errors. */
const BATCH_PREFIXES: string[] = [];
const CACHED_PREFIXES = 10_000;

function batchPrefix(index: number): string {
  if (index >= CACHED_PREFIXES) return `tasks[${index}].`;
  return BATCH_PREFIXES[index] ??= `tasks[${index}].`;
}

/**
 * Byte payloads move to their worker without copying, so two tasks of one
 * submit cannot share a buffer: the second would find it gone.
 */
function refuseSharedBytes(tasks: Task[], batch: boolean): void {
  let buffers: Set<ArrayBufferLike> | undefined;
  tasks.forEach((task, i) => {
    if (!(task.payload instanceof Uint8Array)) return;
    const buffer = task.payload.buffer;
    buffers ??= new Set();
    if (buffers.has(buffer)) {
      throw new ValidationError(
        "Field payload shares its bytes with an earlier task of this batch: byte payloads move to their worker, so give each task its own Uint8Array (copy with slice()).",
        batch ? `tasks[${i}].payload` : "payload",
      );
    }
    buffers.add(buffer);
  });
}

/**
 * Validates `input` (a `SubmitInput` from an untrusted source) and returns the new task (status `queued`, or `scheduled`
 * when delayed). `prefix` goes before field names in errors, e.g. `tasks[3].`.
 */
export function buildTask(
  input: unknown,
  context: TaskFactoryContext,
  now: number,
  prefix = "",
  index = 0,
): Task {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ValidationError(
      `A task must be a JSON object: received ${describe(input)}.`,
      prefix.replace(/\.$/, "") || undefined,
    );
  }
  const fields = input as Record<string, unknown>;
  // for-in rather than Object.keys: no array per task (own keys only, as Object.keys gives).
  for (const key in fields) {
    if (!KNOWN_FIELDS.has(key) && Object.hasOwn(fields, key)) {
      throw new ValidationError(
        `Unknown field ${JSON.stringify(key)}: a task takes ${[...KNOWN_FIELDS].join(", ")}.`,
        prefix + key,
      );
    }
  }
  const { options } = context;

  const type = fields.type;
  if (typeof type !== "string" || type === "") {
    throw new ValidationError(
      `Field type must be a task type name: received ${describe(type)}.`,
      prefix + "type",
    );
  }
  if (!context.hasTaskType(type)) throw new UnknownTaskTypeError(type, prefix + "type");

  const priority = integerField(
    fields,
    "priority",
    DEFAULT_PRIORITY,
    MIN_PRIORITY,
    MAX_PRIORITY,
    prefix,
  );
  const timeoutMs = integerField(
    fields,
    "timeoutMs",
    options.defaultTimeoutMs,
    1,
    MAX_TIMEOUT_MS,
    prefix,
  );
  const maxAttempts = integerField(
    fields,
    "maxAttempts",
    options.defaultMaxAttempts,
    1,
    MAX_ATTEMPTS,
    prefix,
  );
  const runAt = runAtField(fields, now, prefix);

  let idempotencyKey: string | null = null;
  if (fields.idempotencyKey !== undefined && fields.idempotencyKey !== null) {
    const key = fields.idempotencyKey;
    if (typeof key !== "string" || key === "" || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw new ValidationError(
        `Field idempotencyKey must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters: received ${
          describe(key)
        }.`,
        prefix + "idempotencyKey",
      );
    }
    idempotencyKey = key;
  }

  const payload = fields.payload === undefined ? null : fields.payload;
  // Field names are joined only when there is something to check (a batch would pay per task).
  if (payload !== null) checkPayload(payload, options.maxPayloadBytes, prefix + "payload");

  const dependsOn = fields.dependsOn === undefined
    ? undefined
    : dependsOnField(fields.dependsOn, index, prefix + "dependsOn");
  const policy = fields.onParentFailure;
  if (policy !== undefined && policy !== null && policy !== "cancel" && policy !== "run") {
    throw new ValidationError(
      `Field onParentFailure must be "cancel" or "run": received ${describe(policy)}.`,
      prefix + "onParentFailure",
    );
  }

  const retryOf = fields.retryOf;
  if (
    retryOf !== undefined && retryOf !== null &&
    (typeof retryOf !== "string" || !TASK_ID.test(retryOf))
  ) {
    throw new ValidationError(
      `Field retryOf must be the id of the task this one retries: received ${describe(retryOf)}.`,
      prefix + "retryOf",
    );
  }

  const task: Task = {
    id: uuidv7(),
    type,
    payload,
    priority,
    status: runAt > now ? "scheduled" : "queued",
    attempts: 0,
    maxAttempts,
    timeoutMs,
    progress: null,
    result: null,
    error: null,
    createdAt: now,
    runAt: Math.max(runAt, now),
    startedAt: null,
    finishedAt: null,
    workerId: null,
    idempotencyKey,
    nodeId: null,
  };
  if (dependsOn !== undefined && dependsOn.length > 0) {
    task.dependsOn = dependsOn;
    task.onParentFailure = (policy ?? "cancel") as ParentFailurePolicy;
  }
  if (typeof retryOf === "string") task.retryOf = retryOf.toLowerCase();
  return task;
}

function integerField(
  fields: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  max: number,
  prefix: string,
): number {
  const value = fields[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(
      `Field ${name} must be an integer from ${min} to ${max}: received ${describe(value)}.`,
      prefix + name,
    );
  }
  return value;
}

function runAtField(fields: Record<string, unknown>, now: number, prefix: string): number {
  const { delayMs, runAt } = fields;
  if (delayMs !== undefined && delayMs !== null && runAt !== undefined && runAt !== null) {
    throw new ValidationError("Give delayMs or runAt, not both.", prefix + "runAt");
  }
  if (delayMs !== undefined && delayMs !== null) {
    if (
      typeof delayMs !== "number" || !Number.isInteger(delayMs) || delayMs < 0 ||
      delayMs > MAX_DELAY_MS
    ) {
      throw new ValidationError(
        `Field delayMs must be an integer from 0 to ${MAX_DELAY_MS}: received ${
          describe(delayMs)
        }.`,
        prefix + "delayMs",
      );
    }
    return now + delayMs;
  }
  if (runAt !== undefined && runAt !== null) {
    const time = typeof runAt === "string" ? Date.parse(runAt) : runAt;
    if (typeof time !== "number" || !Number.isFinite(time) || time > now + MAX_DELAY_MS) {
      throw new ValidationError(
        `Field runAt must be a time (ms since epoch or ISO 8601) within a year: received ${
          describe(runAt)
        }.`,
        prefix + "runAt",
      );
    }
    return time;
  }
  return now;
}

/** Bytes a payload takes: raw length for bytes, UTF-8 JSON length otherwise. */
export function payloadSize(payload: unknown): number {
  if (payload instanceof Uint8Array) return payload.byteLength;
  if (payload === null || payload === undefined) return 0;
  if (typeof payload === "number" || typeof payload === "boolean") return 8;
  let json: string | undefined;
  try {
    json = JSON.stringify(payload, refuseNonJson);
  } catch {
    return Infinity;
  }
  return json === undefined ? 0 : utf8Length(json);
}

/** A `JSON.stringify` replacer that refuses what JSON would silently drop and workers cannot receive. */
function refuseNonJson(_key: string, value: unknown): unknown {
  const type = typeof value;
  if (type === "function" || type === "symbol") throw new TypeError(`A ${type} is not JSON.`);
  return value;
}

function checkPayload(payload: unknown, limit: number, field: string): void {
  if (payload instanceof Uint8Array) {
    if (payload.buffer instanceof ArrayBuffer && payload.buffer.detached) {
      throw new ValidationError(
        "Field payload is bytes that were already moved (transferred) elsewhere: submit a fresh Uint8Array.",
        field,
      );
    }
    if (payload.byteLength > limit) {
      throw new PayloadTooLargeError(payload.byteLength, limit, field);
    }
    return;
  }
  if (
    payload === null || typeof payload === "number" || typeof payload === "boolean"
  ) {
    if (typeof payload === "number" && !Number.isFinite(payload)) {
      throw new ValidationError("Field payload must be a JSON value.", field);
    }
    return;
  }
  if (typeof payload === "function" || typeof payload === "symbol" || typeof payload === "bigint") {
    throw new ValidationError(
      `Field payload must be a JSON value or bytes: received ${describe(payload)}.`,
      field,
    );
  }
  const size = payloadSize(payload);
  if (size === Infinity) {
    throw new ValidationError(
      "Field payload must be a JSON value: no functions, symbols, big integers or cycles.",
      field,
    );
  }
  if (size > limit) throw new PayloadTooLargeError(size, limit, field);
}

function utf8Length(text: string): number {
  // Counting beats encoding: no allocation for the common all-ASCII case.
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
