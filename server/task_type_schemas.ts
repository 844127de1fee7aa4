/**
 * Zod schemas of the task-type endpoints: a type with its controls and
 * figures, and the limits set through the API.
 *
 * @module
 */

import { z } from "@hono/zod-openapi";
import { MAX_TYPE_LIMIT, TASK_STATUSES } from "../engine/mod.ts";
import { expected, integer } from "./schema_fields.ts";

/** A task type's limits; a missing field is no limit. */
export const TypeLimitsSchema = z.object({
  concurrency: z.number().int().optional().openapi({
    description: "Most tasks of the type running at once (across the cluster on PostgreSQL).",
  }),
  ratePerSecond: z.number().optional().openapi({
    description: "Most starts per second (one shared budget on PostgreSQL).",
  }),
  burst: z.number().int().optional().openapi({
    description: "Starts allowed at once after a quiet spell; default ceil(ratePerSecond).",
  }),
}).openapi("TypeLimits");

/** Body of `PUT /api/task-types/{name}/limits`. */
export const TypeLimitsInputSchema = z.strictObject({
  concurrency: integer("concurrency", 1, MAX_TYPE_LIMIT).nullable().optional(),
  ratePerSecond: z.number({ error: expected("ratePerSecond must be a number above 0") })
    .positive({ error: expected("ratePerSecond must be a number above 0") })
    .max(MAX_TYPE_LIMIT, { error: expected(`ratePerSecond must be at most ${MAX_TYPE_LIMIT}`) })
    .nullable().optional(),
  burst: integer("burst", 1, MAX_TYPE_LIMIT).nullable().optional(),
}).openapi("TypeLimitsInput", {
  description: "The type's new limits, replacing its module's; an empty object removes them.",
  example: { concurrency: 2, ratePerSecond: 50 },
});

/** A task type and its controls. */
export const TaskTypeSchema = z.object({
  name: z.string(),
  builtin: z.boolean(),
  source: z.string().openapi({ description: "The module's URL." }),
  paused: z.boolean().openapi({ description: "A paused type's tasks stay queued." }),
  limits: TypeLimitsSchema.openapi({ description: "The limits in force." }),
  moduleLimits: TypeLimitsSchema.openapi({
    description: "The module's own limits (its `export const limits`).",
  }),
  limitsSet: z.boolean().openapi({
    description: "Whether `limits` were set through the API, replacing the module's.",
  }),
  permissions: z.record(z.string(), z.union([z.boolean(), z.array(z.string())])).openapi({
    description: "What its workers may do (net, read, write, env, run, ffi, sys): false, true, " +
      "or the hosts, paths or names allowed. Types with the same permissions share workers.",
  }),
  isolation: z.enum(["thread", "process"]).openapi({
    description: "Where its tasks run now: threads of the service, or worker processes (its " +
      "module's `isolation`, the service's default, or processes since one of its threads got stuck).",
  }),
  memoryLimitMb: z.number().int().nullable().openapi({
    description: "Heap limit of its worker processes, MB; null in threads (no limit).",
  }),
  counts: z.object(
    Object.fromEntries(TASK_STATUSES.map((status) => [status, z.number().int()])),
  ).openapi({ description: "Its tasks in the store, by status (the cluster's on PostgreSQL)." }),
  runMs: z.object({ count: z.number().int(), p50: z.number(), p95: z.number() }).openapi({
    description: "Run time of its attempts that ended in the last hour on this node, ms.",
  }),
  lastHour: z.object({
    succeeded: z.number().int(),
    failed: z.number().int(),
    failureRate: z.number().nullable().openapi({
      description: "failed / (succeeded + failed); null without attempts.",
    }),
  }).openapi({
    description: "Its attempts that ended in the last hour on this node (a failure is an " +
      "error, a timeout or a crashed worker, retried or not).",
  }),
  lastError: z.object({
    at: z.number(),
    taskId: z.string(),
    name: z.string(),
    message: z.string(),
  }).nullable().openapi({ description: "Its latest failed attempt on this node, or null." }),
}).openapi("TaskType");

/** `{ taskTypes }` of `GET /api/task-types`. */
export const TaskTypesAnswerSchema = z.object({
  taskTypes: z.array(TaskTypeSchema),
}).openapi("TaskTypesAnswer");

/** `{ taskType }`: one task type and its controls. */
export const TaskTypeAnswerSchema = z.object({ taskType: TaskTypeSchema }).openapi(
  "TaskTypeAnswer",
);

/** Path parameter `:name` of a task type. */
export const TypeNameParamSchema = z.object({
  name: z.string().min(1).max(100).openapi({ param: { name: "name", in: "path" } }),
});
