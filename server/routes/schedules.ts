/**
 * The schedule routes (`/api/schedules…`): create, list (each with its next
 * ticks), read, change (pause and resume with `paused`) and delete.
 *
 * @module
 */

import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { ScheduleNotFoundError } from "../../engine/mod.ts";
import type { AppEnv } from "../app_env.ts";
import type { ServiceEngine } from "../engine_port.ts";
import { errorResponses, NOT_MODIFIED } from "../openapi.ts";
import {
  ScheduleAnswerSchema,
  ScheduleChangeSchema,
  ScheduleInputSchema,
  ScheduleNameParamSchema,
  SchedulesAnswerSchema,
} from "../schedule_schemas.ts";

const TAGS = ["schedules"];

const createScheduleRoute = createRoute({
  method: "post",
  path: "/schedules",
  operationId: "createSchedule",
  tags: TAGS,
  summary: "Create a schedule",
  description: "Submits `task` at every tick of `cron` (read in `timezone`), exactly once per " +
    "tick across every node sharing the store. Each task carries `schedule: { name, tick }` " +
    "and the idempotency key `schedule:<name>:<tick ISO>`.",
  request: {
    body: { required: true, content: { "application/json": { schema: ScheduleInputSchema } } },
  },
  responses: {
    201: {
      description: "The schedule, with its next ticks.",
      content: { "application/json": { schema: ScheduleAnswerSchema } },
    },
    ...errorResponses([400, 401, 405, 409, 415, 503]),
  },
});

const listSchedulesRoute = createRoute({
  method: "get",
  path: "/schedules",
  operationId: "getSchedules",
  tags: TAGS,
  summary: "Every schedule, with its next ticks",
  responses: {
    200: {
      description: "Schedules by name.",
      content: { "application/json": { schema: SchedulesAnswerSchema } },
    },
    ...NOT_MODIFIED,
    ...errorResponses([401, 405, 503]),
  },
});

const getScheduleRoute = createRoute({
  method: "get",
  path: "/schedules/{name}",
  operationId: "getSchedule",
  tags: TAGS,
  summary: "One schedule, with its next ticks",
  request: { params: ScheduleNameParamSchema },
  responses: {
    200: {
      description: "The schedule.",
      content: { "application/json": { schema: ScheduleAnswerSchema } },
    },
    ...NOT_MODIFIED,
    ...errorResponses([401, 404, 405, 503]),
  },
});

const patchScheduleRoute = createRoute({
  method: "patch",
  path: "/schedules/{name}",
  operationId: "updateSchedule",
  tags: TAGS,
  summary: "Change, pause or resume a schedule",
  description: "Fields left out stay as they are. `paused: true` pauses (no tick fires); " +
    "`paused: false` resumes from the next tick after now (ticks while paused are not caught " +
    "up). A new `cron` or `timezone` counts from now.",
  request: {
    params: ScheduleNameParamSchema,
    body: { required: true, content: { "application/json": { schema: ScheduleChangeSchema } } },
  },
  responses: {
    200: {
      description: "The schedule as changed.",
      content: { "application/json": { schema: ScheduleAnswerSchema } },
    },
    ...errorResponses([400, 401, 404, 405, 415, 503]),
  },
});

const deleteScheduleRoute = createRoute({
  method: "delete",
  path: "/schedules/{name}",
  operationId: "deleteSchedule",
  tags: TAGS,
  summary: "Delete a schedule",
  description: "No tick fires after this; the tasks it submitted stay.",
  request: { params: ScheduleNameParamSchema },
  responses: {
    200: {
      description: "The schedule as it was.",
      content: { "application/json": { schema: ScheduleAnswerSchema } },
    },
    ...errorResponses([401, 404, 405, 503]),
  },
});

/**
 * Registers the schedule routes on the `/api` sub-app.
 *
 * @example
 * ```ts ignore
 * registerScheduleRoutes(api, { engine });
 * ```
 */
export function registerScheduleRoutes(
  api: OpenAPIHono<AppEnv>,
  deps: { engine: ServiceEngine },
): void {
  const { schedules } = deps.engine;

  api.openapi(createScheduleRoute, async (c) => {
    const schedule = await schedules.create(c.req.valid("json"));
    c.header("location", `/api/schedules/${encodeURIComponent(schedule.name)}`);
    return c.json({ schedule }, 201);
  });
  api.openapi(listSchedulesRoute, async (c) => c.json({ schedules: await schedules.list() }, 200));
  api.openapi(getScheduleRoute, async (c) => {
    const { name } = c.req.valid("param");
    const schedule = await schedules.get(name);
    if (schedule === undefined) throw new ScheduleNotFoundError(name);
    return c.json({ schedule }, 200);
  });
  api.openapi(patchScheduleRoute, async (c) => {
    const { name } = c.req.valid("param");
    return c.json({ schedule: await schedules.update(name, c.req.valid("json")) }, 200);
  });
  api.openapi(deleteScheduleRoute, async (c) => {
    const { name } = c.req.valid("param");
    return c.json({ schedule: await schedules.delete(name) }, 200);
  });
}
