/**
 * Zod schemas of the task endpoints: submits (one, a batch, bytes), the
 * listing's query, path and query parameters, and a task as answers carry
 * it. {@linkcode isPlainSubmitInput} spares the hottest route a full parse.
 *
 * @module
 */

import { z } from "@hono/zod-openapi";
import {
  MAX_ATTEMPT_HISTORY,
  MAX_ATTEMPTS,
  MAX_BATCH,
  MAX_DELAY_MS,
  MAX_DEPENDENCIES,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_PRIORITY,
  MAX_TIMEOUT_MS,
  MIN_PRIORITY,
  TASK_SORTS,
  TASK_STATUSES,
  type TaskSort,
} from "../engine/mod.ts";
import { expected, integer, priority } from "./schema_fields.ts";

const KEY_LENGTH = `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`;

/** The body of `POST /api/tasks`, and each item of a batch. */
export const SubmitInputSchema = z.strictObject({
  type: z.string({ error: expected("Type must be a task type name (a string)") }).min(1, {
    error: expected("Type must be a task type name (a string)"),
  }).openapi({ description: "A built-in or tasksDir task type.", example: "fib" }),
  payload: z.unknown().optional().openapi({
    description: "Any JSON value, passed to the handler.",
    example: { n: 30 },
  }),
  priority: priority.optional(),
  delayMs: integer("delayMs", 0, MAX_DELAY_MS).optional().openapi({
    description: "Run no earlier than this many milliseconds from now.",
  }),
  runAt: z.union([
    z.number({ error: expected("runAt must be a time in ms since the epoch or an ISO string") }),
    z.string({ error: expected("runAt must be a time in ms since the epoch or an ISO string") }),
  ], { error: expected("runAt must be a time in ms since the epoch or an ISO 8601 string") })
    .optional().openapi({ description: "Run no earlier than this time (ms since epoch or ISO)." }),
  timeoutMs: integer("timeoutMs", 1, MAX_TIMEOUT_MS).optional().openapi({
    description: "Run time limit; default the engine's.",
  }),
  maxAttempts: integer("maxAttempts", 1, MAX_ATTEMPTS).optional(),
  idempotencyKey: z.string({ error: expected("idempotencyKey must be a string") })
    .min(1, { error: expected(KEY_LENGTH) })
    .max(MAX_IDEMPOTENCY_KEY_LENGTH, { error: expected(KEY_LENGTH) })
    .optional().openapi({
      description: "A second submit with the same key returns the first task.",
    }),
  dependsOn: z.array(
    z.string({ error: expected('dependsOn must hold task ids or "#n" batch references') }),
    { error: expected("dependsOn must be an array of task ids") },
  ).max(MAX_DEPENDENCIES, { error: `dependsOn must hold at most ${MAX_DEPENDENCIES} ids.` })
    .optional().openapi({
      description: "Tasks this one waits for (it is `blocked` until each has succeeded): ids of " +
        'existing tasks or, in a batch, "#n" for the batch\'s earlier task at index n.',
      example: ["#0"],
    }),
  onParentFailure: z.enum(["cancel", "run"], {
    error: expected('onParentFailure must be "cancel" or "run"'),
  }).optional().openapi({
    description: "When a task it depends on fails or is cancelled: `cancel` (default) cancels " +
      "this one too; `run` runs it once all have ended.",
  }),
  retryOf: z.string({ error: expected("retryOf must be a task id") }).optional().openapi({
    description: "The id of the task this one retries with changes (its payload or options " +
      "edited): recorded as the new task's `retryOf`.",
  }),
}).openapi("SubmitInput");

/** The body of `POST /api/tasks/batch`. */
export const BatchInputSchema = z.strictObject({
  tasks: z.array(SubmitInputSchema, { error: expected("tasks must be an array of tasks") })
    .min(1, { error: "tasks must hold at least one task." })
    .max(MAX_BATCH, { error: `tasks must hold at most ${MAX_BATCH} tasks.` }),
}).openapi("BatchInput");

/** The fields {@linkcode isPlainSubmitInput} checks itself, and each one's integer range. */
const PLAIN_SUBMIT_INTEGERS: Readonly<Record<string, readonly [number, number]>> = {
  priority: [MIN_PRIORITY, MAX_PRIORITY],
  delayMs: [0, MAX_DELAY_MS],
  timeoutMs: [1, MAX_TIMEOUT_MS],
  maxAttempts: [1, MAX_ATTEMPTS],
};

/**
 * Whether `body` is a submit that {@linkcode SubmitInputSchema} certainly
 * accepts as it is: an object with a type name and only `payload`,
 * `priority`, `delayMs`, `timeoutMs`, `maxAttempts` or `idempotencyKey`,
 * each valid. It costs a fraction of the schema's parse on the hottest
 * route; `false` means "ask the schema", which accepts the rest or names the
 * field at fault, so the error answers stay the schema's.
 *
 * @example
 * ```ts
 * import { isPlainSubmitInput } from "./schemas.ts";
 * isPlainSubmitInput({ type: "fib", payload: { n: 20 }, priority: 9 }); // true
 * isPlainSubmitInput({ type: "fib", priority: 11 }); // false: the schema explains
 * ```
 */
export function isPlainSubmitInput(body: unknown): boolean {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  let typed = false;
  for (const key in body) {
    if (!Object.hasOwn(body, key)) return false;
    const value = (body as Record<string, unknown>)[key];
    if (key === "type") {
      if (typeof value !== "string" || value === "") return false;
      typed = true;
    } else if (key === "payload") {
      continue;
    } else if (key === "idempotencyKey") {
      if (
        typeof value !== "string" || value === "" || value.length > MAX_IDEMPOTENCY_KEY_LENGTH
      ) return false;
    } else {
      const range = PLAIN_SUBMIT_INTEGERS[key];
      if (range === undefined || !Object.hasOwn(PLAIN_SUBMIT_INTEGERS, key)) return false;
      if (
        !Number.isSafeInteger(value) || value as number < range[0] || value as number > range[1]
      ) {
        return false;
      }
    }
  }
  return typed;
}

/** Query of `POST /api/tasks` when the body is bytes (`application/octet-stream`). */
export const BytesSubmitQuerySchema = z.object({
  type: z.string().optional().openapi({
    description: "Task type, for a byte payload (application/octet-stream body).",
  }),
  priority: z.string().regex(/^([1-9]|10)$/, {
    error: expected("Priority must be an integer from 1 to 10"),
  }).optional(),
  delayMs: z.string().regex(/^\d{1,12}$/, { error: expected("delayMs must be an integer") })
    .optional(),
  timeoutMs: z.string().regex(/^\d{1,9}$/, { error: expected("timeoutMs must be an integer") })
    .optional(),
  maxAttempts: z.string().regex(/^\d{1,3}$/, {
    error: expected("maxAttempts must be an integer from 1 to 100"),
  }).optional(),
  idempotencyKey: z.string().max(MAX_IDEMPOTENCY_KEY_LENGTH).optional(),
});

const statusList = new RegExp(`^(${TASK_STATUSES.join("|")})(,(${TASK_STATUSES.join("|")}))*$`);

/** Query of `GET /api/tasks`. */
export const ListQuerySchema = z.object({
  status: z.string().regex(statusList, {
    error: expected(`status must be a comma-separated list of ${TASK_STATUSES.join(", ")}`),
  }).optional().openapi({ description: "Comma-separated statuses.", example: "queued,running" }),
  type: z.string().min(1).optional().openapi({ description: "Comma-separated task types." }),
  priority: z.string().regex(/^([1-9]|10)(,([1-9]|10))*$/, {
    error: expected("priority must be a comma-separated list of integers from 1 to 10"),
  }).optional().openapi({ description: "Comma-separated priorities.", example: "9,10" }),
  limit: z.string().regex(/^([1-9]\d{0,2}|1000)$/, {
    error: expected("limit must be an integer from 1 to 1000"),
  }).optional().openapi({ description: "Page size, 1 to 1000; default 50." }),
  id: z.string().max(36).optional().openapi({
    description: "An id or the start of one (hex digits and dashes): the tasks whose id starts " +
      "so.",
    example: "0192c0de-5",
  }),
  sort: z.enum(TASK_SORTS as [TaskSort, ...TaskSort[]], {
    error: expected(`sort must be one of ${TASK_SORTS.join(", ")}`),
  }).optional().openapi({
    description: "`created` (default, newest first), `priority` (most urgent first) or " +
      "`runTime` (longest last run first; tasks without a finished run last). Ties newest first.",
  }),
  total: z.enum(["true", "false"], { error: expected("total must be true or false") })
    .optional().openapi({
      description: "`true` to count every matching task (`total` in the answer).",
    }),
  cursor: z.string().optional().openapi({ description: "nextCursor of the previous page." }),
});

/** Path parameter `:id`. */
export const IdParamSchema = z.object({
  id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }),
});

/** Query of `GET /api/tasks/:id/dependents`. */
export const DependentsQuerySchema = z.object({
  limit: z.string().regex(/^([1-9]\d{0,2}|1000)$/, {
    error: expected("limit must be an integer from 1 to 1000"),
  }).optional().openapi({ description: "At most this many, 1 to 1000; default 100." }),
});

/** Query of `GET /api/tasks/:id/wait`. */
export const WaitQuerySchema = z.object({
  timeoutMs: z.string().regex(/^\d{1,6}$/, {
    error: expected("timeoutMs must be an integer from 0 to 300000"),
  }).optional().openapi({ description: "Longest wait in ms, at most 300000; default 30000." }),
});

/** One past attempt of a task. */
const TaskAttemptSchema = z.object({
  attempt: z.number().int().openapi({ description: "Its number, from 1 (again after a retry)." }),
  workerId: z.number().int().nullable(),
  nodeId: z.string().nullable(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  outcome: z.enum(["running", "succeeded", "failed", "cancelled", "interrupted"]).openapi({
    description: "`interrupted`: given back without counting (another task's timeout or " +
      "cancel replaced the worker, or the node stopped).",
  }),
  error: z.object({ name: z.string(), message: z.string() }).nullable(),
}).openapi("TaskAttempt");

/** A task as the API returns it. Bytes appear as `{ "$bytes": "<base64>" }`. */
export const TaskSchema = z.object({
  id: z.string(),
  type: z.string(),
  payload: z.unknown(),
  priority: z.number().int(),
  status: z.enum(TASK_STATUSES as [string, ...string[]]),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  timeoutMs: z.number().int(),
  progress: z.number().nullable(),
  result: z.unknown(),
  error: z.object({ name: z.string(), message: z.string(), stack: z.string().optional() })
    .nullable(),
  createdAt: z.number(),
  runAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  workerId: z.number().nullable(),
  idempotencyKey: z.string().nullable(),
  nodeId: z.string().nullable(),
  dependsOn: z.array(z.string()).optional().openapi({
    description: "The tasks it waits for, when it depends on any.",
  }),
  onParentFailure: z.enum(["cancel", "run"]).optional(),
  schedule: z.object({
    name: z.string(),
    tick: z.number().openapi({ description: "The tick it fired for, ms since epoch." }),
  }).optional().openapi({ description: "The schedule that submitted it, when one did." }),
  history: z.array(TaskAttemptSchema).optional().openapi({
    description: "The attempts before the current (or last) one, oldest first, at most " +
      `${MAX_ATTEMPT_HISTORY}; absent until a run ends and the task runs again. The current ` +
      "attempt is the task's own startedAt, finishedAt, workerId, nodeId and error.",
  }),
  retryOf: z.string().optional().openapi({
    description: "The task this one retries with changes, when it does.",
  }),
}).openapi("Task");

/** `{ task }` answers. */
export const TaskAnswerSchema = z.object({ task: TaskSchema }).openapi("TaskAnswer");

/** `{ tasks }` answers of the batch submit. */
export const TasksAnswerSchema = z.object({ tasks: z.array(TaskSchema) }).openapi("TasksAnswer");

/** One page of `GET /api/tasks`. */
export const TaskPageSchema = z.object({
  tasks: z.array(TaskSchema),
  nextCursor: z.string().nullable(),
  total: z.number().int().optional().openapi({
    description: "How many tasks match in all (with `total=true`).",
  }),
}).openapi("TaskPage");
