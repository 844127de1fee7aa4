/**
 * The task type routes (`/api/task-types…`): each type with its controls,
 * and the calls that pause, resume and limit a type.
 *
 * @module
 */

import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { TypeControl } from "../../engine/mod.ts";
import type { AppEnv } from "../app_env.ts";
import type { ServiceEngine, TaskTypeInfo } from "../engine_port.ts";
import { HttpError } from "../errors.ts";
import { oneTaskTypeView, taskTypeViews } from "../task_type_json.ts";
import { errorResponses, NOT_MODIFIED } from "../openapi.ts";
import {
  TaskTypeAnswerSchema,
  TaskTypesAnswerSchema,
  TypeLimitsInputSchema,
  TypeNameParamSchema,
} from "../schemas.ts";

const listRoute = createRoute({
  method: "get",
  path: "/task-types",
  operationId: "getTaskTypes",
  tags: ["task types"],
  summary: "Task types this server runs, with their controls and figures",
  responses: {
    200: {
      description: "Built-in and tasksDir types; each one's pause and limits, permissions, " +
        "tasks by status, and its last hour's run time, failure rate and last error.",
      content: { "application/json": { schema: TaskTypesAnswerSchema } },
    },
    ...NOT_MODIFIED,
    ...errorResponses([401, 405, 503]),
  },
});

/** A route about one named type that answers the type: its reading and the plain controls. */
function typeRoute(
  method: "get" | "post" | "delete",
  path: string,
  operationId: string,
  summary: string,
  answered: string,
  description?: string,
) {
  return createRoute({
    method,
    path: `/task-types/{name}${path}`,
    operationId,
    tags: ["task types"],
    summary,
    ...(description === undefined ? {} : { description }),
    request: { params: TypeNameParamSchema },
    responses: {
      200: {
        description: answered,
        content: { "application/json": { schema: TaskTypeAnswerSchema } },
      },
      ...(method === "get" ? NOT_MODIFIED : {}),
      ...errorResponses([401, 404, 405, 503]),
    },
  });
}

const getRoute = typeRoute("get", "", "getTaskType", "One task type and its controls", "The type.");

const putLimitsRoute = createRoute({
  method: "put",
  path: "/task-types/{name}/limits",
  operationId: "setTaskTypeLimits",
  tags: ["task types"],
  summary: "Set a task type's limits",
  description: "Replaces the module's limits (its `export const limits`) until deleted. Saved " +
    "in the store; on PostgreSQL the concurrency is counted over every node and the rate is " +
    "one budget for the cluster. Tasks of the type that a worker holds but has not started " +
    "go back to the queue to wait their turn under the new limits.",
  request: {
    params: TypeNameParamSchema,
    body: {
      required: true,
      content: { "application/json": { schema: TypeLimitsInputSchema } },
    },
  },
  responses: {
    200: {
      description: "The type with its new limits.",
      content: { "application/json": { schema: TaskTypeAnswerSchema } },
    },
    ...errorResponses([400, 401, 404, 405, 415, 503]),
  },
});

const deleteLimitsRoute = typeRoute(
  "delete",
  "/limits",
  "resetTaskTypeLimits",
  "Go back to the module's limits",
  "The type with its module's limits.",
);

const pauseRoute = typeRoute(
  "post",
  "/pause",
  "pauseTaskType",
  "Pause a task type",
  "The paused type.",
  "No task of the type starts until it is resumed (on every node); new tasks are still " +
    "accepted and wait queued, other types run. Running tasks finish.",
);

const resumeRoute = typeRoute(
  "post",
  "/resume",
  "resumeTaskType",
  "Resume a paused task type",
  "The running type.",
);

/**
 * Registers the task type routes on the `/api` sub-app.
 *
 * @example
 * ```ts ignore
 * registerTaskTypeRoutes(api, { engine });
 * ```
 */
export function registerTaskTypeRoutes(
  api: OpenAPIHono<AppEnv>,
  deps: { engine: ServiceEngine },
): void {
  const { engine } = deps;
  const infos = () => new Map(engine.taskTypes().map((info) => [info.name, info]));
  /** One type's answer after `control` came into force. */
  const answerOne = async (info: TaskTypeInfo, control: TypeControl) => ({
    taskType: await oneTaskTypeView(engine, info, control),
  });
  /** The type named in the path, or a 404 naming it. */
  const known = (name: string): TaskTypeInfo => {
    const info = infos().get(name);
    if (info === undefined) {
      throw new HttpError(
        404,
        "task_type_not_found",
        `No task type is named ${JSON.stringify(name)}: GET /api/task-types lists them.`,
        "name",
      );
    }
    return info;
  };

  api.openapi(listRoute, async (c) => c.json({ taskTypes: await taskTypeViews(engine) }, 200));
  api.openapi(getRoute, async (c) => {
    const info = known(c.req.valid("param").name);
    return c.json(await answerOne(info, engine.typeControl(info.name)), 200);
  });
  api.openapi(putLimitsRoute, async (c) => {
    const info = known(c.req.valid("param").name);
    const body = c.req.valid("json");
    const limits: Record<string, number> = {};
    for (const [key, value] of Object.entries(body)) {
      if (typeof value === "number") limits[key] = value;
    }
    const control = await engine.setTypeLimits(info.name, limits);
    return c.json(await answerOne(info, control), 200);
  });
  api.openapi(deleteLimitsRoute, async (c) => {
    const info = known(c.req.valid("param").name);
    return c.json(await answerOne(info, await engine.setTypeLimits(info.name, null)), 200);
  });
  api.openapi(pauseRoute, async (c) => {
    const info = known(c.req.valid("param").name);
    return c.json(await answerOne(info, await engine.pauseType(info.name)), 200);
  });
  api.openapi(resumeRoute, async (c) => {
    const info = known(c.req.valid("param").name);
    return c.json(await answerOne(info, await engine.resumeType(info.name)), 200);
  });
}
