/**
 * The task routes' OpenAPI definitions (paths, parameters, answers), from
 * which `/api/openapi.json` is generated; `tasks.ts` serves them.
 *
 * @module
 */

import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, NOT_MODIFIED } from "../openapi.ts";
import {
  BatchInputSchema,
  BytesSubmitQuerySchema,
  DependentsQuerySchema,
  ErrorSchema,
  IdParamSchema,
  ListQuerySchema,
  SubmitInputSchema,
  TaskAnswerSchema,
  TaskPageSchema,
  TasksAnswerSchema,
  TaskSchema,
  WaitQuerySchema,
} from "../schemas.ts";

export const WaitEndedSchema = ErrorSchema.extend({ task: TaskSchema }).openapi("WaitEnded");

export const submitRoute = createRoute({
  method: "post",
  path: "/tasks",
  operationId: "submitTask",
  tags: ["tasks"],
  summary: "Submit a task",
  description: "JSON body, or an application/octet-stream body as the byte payload with " +
    "type and priority in the query string.",
  request: {
    query: BytesSubmitQuerySchema,
    body: {
      required: false,
      content: {
        "application/json": { schema: SubmitInputSchema },
        "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) },
      },
    },
  },
  responses: {
    201: {
      description: "Created.",
      content: { "application/json": { schema: TaskAnswerSchema } },
    },
    200: {
      description: "A task with this idempotencyKey existed; it is returned.",
      content: { "application/json": { schema: TaskAnswerSchema } },
    },
    ...errorResponses([400, 401, 405, 413, 415, 429, 503]),
  },
});

export const batchRoute = createRoute({
  method: "post",
  path: "/tasks/batch",
  operationId: "submitTaskBatch",
  tags: ["tasks"],
  summary: "Submit up to 10,000 tasks, all or none",
  description: "`GET /api/tasks/batch` is a 405 (`Allow: POST`), not a task id.",
  request: {
    body: { required: true, content: { "application/json": { schema: BatchInputSchema } } },
  },
  responses: {
    201: {
      description: "All created (or found by idempotencyKey).",
      content: { "application/json": { schema: TasksAnswerSchema } },
    },
    ...errorResponses([400, 401, 405, 413, 415, 429, 503]),
  },
});

export const listRoute = createRoute({
  method: "get",
  path: "/tasks",
  operationId: "listTasks",
  tags: ["tasks"],
  summary: "List tasks: newest first, or by priority or run time",
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "One page.", content: { "application/json": { schema: TaskPageSchema } } },
    ...NOT_MODIFIED,
    ...errorResponses([400, 401, 405, 503]),
  },
});

export const getRoute = createRoute({
  method: "get",
  path: "/tasks/{id}",
  operationId: "getTask",
  tags: ["tasks"],
  summary: "Get a task",
  request: { params: IdParamSchema },
  responses: {
    200: {
      description: "The task.",
      content: { "application/json": { schema: TaskAnswerSchema } },
    },
    ...NOT_MODIFIED,
    ...errorResponses([400, 401, 404, 405, 503]),
  },
});

export const dependentsRoute = createRoute({
  method: "get",
  path: "/tasks/{id}/dependents",
  operationId: "listDependents",
  tags: ["tasks"],
  summary: "List the tasks that depend on a task",
  description: "Its children: the tasks submitted with this task in `dependsOn`, newest first.",
  request: { params: IdParamSchema, query: DependentsQuerySchema },
  responses: {
    200: {
      description: "The children, newest first.",
      content: { "application/json": { schema: TasksAnswerSchema } },
    },
    ...NOT_MODIFIED,
    ...errorResponses([400, 401, 404, 405, 503]),
  },
});

export const waitRoute = createRoute({
  method: "get",
  path: "/tasks/{id}/wait",
  operationId: "waitForTask",
  tags: ["tasks"],
  summary: "Wait until a task ends (long poll)",
  request: { params: IdParamSchema, query: WaitQuerySchema },
  responses: {
    200: {
      description: "The task ended.",
      content: { "application/json": { schema: TaskAnswerSchema } },
    },
    408: {
      description: "The wait timed out; `task` is the task as it stands.",
      content: { "application/json": { schema: WaitEndedSchema } },
    },
    503: {
      description: "Shutting down (`task` is the task as it stands), starting, or the task " +
        "store is unreachable (no `task`).",
      content: { "application/json": { schema: WaitEndedSchema.partial({ task: true }) } },
    },
    ...NOT_MODIFIED,
    ...errorResponses([400, 401, 404, 405]),
  },
});

export const cancelRoute = createRoute({
  method: "post",
  path: "/tasks/{id}/cancel",
  operationId: "cancelTask",
  tags: ["tasks"],
  summary: "Cancel a task",
  request: { params: IdParamSchema },
  responses: {
    200: {
      description: "Cancelled (a running task is cancelled as soon as its handler stops).",
      content: { "application/json": { schema: TaskAnswerSchema } },
    },
    ...errorResponses([400, 401, 404, 405, 409, 413, 503]),
  },
});

export const retryRoute = createRoute({
  method: "post",
  path: "/tasks/{id}/retry",
  operationId: "retryTask",
  tags: ["tasks"],
  summary: "Requeue a failed or cancelled task",
  request: { params: IdParamSchema },
  responses: {
    200: {
      description: "Requeued.",
      content: { "application/json": { schema: TaskAnswerSchema } },
    },
    ...errorResponses([400, 401, 404, 405, 409, 413, 429, 503]),
  },
});
