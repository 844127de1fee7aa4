/**
 * Zod schemas of the schedule routes (`/api/schedules…`). Shapes are checked
 * here; the engine checks meaning (a cron pattern croner reads, a known time
 * zone and task type) and names the field at fault.
 *
 * @module
 */

import { z } from "@hono/zod-openapi";
import { MAX_ATTEMPTS, MAX_TIMEOUT_MS } from "../engine/mod.ts";
import { expected, integer, priority } from "./schema_fields.ts";

const cron = z.string({ error: expected('cron must be a cron pattern or "@every <interval>"') })
  .min(1, { error: expected('cron must be a cron pattern or "@every <interval>"') })
  .max(200, { error: expected("cron must be at most 200 characters") })
  .openapi({
    description: 'Five-field cron (a sixth leading field for seconds), "@daily"…, or ' +
      '"@every <n><ms|s|m|h>" (from the schedule\'s creation).',
    example: "*/5 * * * *",
  });

const timezone = z.string({ error: expected("timezone must be an IANA time zone name") })
  .min(1, { error: expected("timezone must be an IANA time zone name") })
  .max(100, { error: expected("timezone must be an IANA time zone name") })
  .openapi({ description: "IANA time zone the pattern is read in; default UTC.", example: "UTC" });

const overlap = z.enum(["allow", "skip"], { error: expected('overlap must be "allow" or "skip"') })
  .openapi({
    description: "`skip`: a tick fires no task while the last one fired has not finished; " +
      "`allow` (default): it fires anyway.",
  });

const catchUp = z.enum(["latest", "all", "none"], {
  error: expected('catchUp must be "latest", "all" or "none"'),
}).openapi({
  description: "Ticks missed while no node ran: `latest` (default) fires the latest once, " +
    "`all` fires each (the latest 1000 at most), `none` fires none (a tick under 5 s late " +
    "still fires).",
});

/** The task a schedule submits at each tick. */
export const ScheduleTaskSchema = z.strictObject({
  type: z.string({ error: expected("task.type must be a task type name (a string)") }).min(1, {
    error: expected("task.type must be a task type name (a string)"),
  }).openapi({ example: "noop" }),
  payload: z.unknown().optional().openapi({ description: "Any JSON value." }),
  priority: priority.optional(),
  timeoutMs: integer("timeoutMs", 1, MAX_TIMEOUT_MS).optional(),
  maxAttempts: integer("maxAttempts", 1, MAX_ATTEMPTS).optional(),
}).openapi("ScheduleTask");

/** Body of `POST /api/schedules`. */
export const ScheduleInputSchema = z.strictObject({
  name: z.string({ error: expected("name must be a string") }).openapi({
    description: "1 to 100 letters, digits, `.`, `_`, `-`, `:`; starts with a letter or digit.",
    example: "nightly-report",
  }),
  cron,
  timezone: timezone.optional(),
  task: ScheduleTaskSchema,
  overlap: overlap.optional(),
  catchUp: catchUp.optional(),
  paused: z.boolean({ error: expected("paused must be true or false") }).optional(),
}).openapi("ScheduleInput", {
  example: { name: "nightly-report", cron: "0 3 * * *", task: { type: "noop" } },
});

/** Body of `PATCH /api/schedules/{name}`. */
export const ScheduleChangeSchema = z.strictObject({
  cron: cron.optional(),
  timezone: timezone.optional(),
  task: ScheduleTaskSchema.optional(),
  overlap: overlap.optional(),
  catchUp: catchUp.optional(),
  paused: z.boolean({ error: expected("paused must be true or false") }).optional().openapi({
    description: "`true` pauses; `false` resumes from the next tick after now.",
  }),
}).openapi("ScheduleChange", { example: { paused: true } });

/** A schedule as the API returns it. Times are ms since the epoch. */
export const ScheduleSchema = z.object({
  name: z.string(),
  cron: z.string(),
  timezone: z.string(),
  task: ScheduleTaskSchema,
  overlap: z.enum(["allow", "skip"]),
  catchUp: z.enum(["latest", "all", "none"]),
  paused: z.boolean(),
  createdAt: z.number(),
  updatedAt: z.number(),
  nextRunAt: z.number().nullable().openapi({
    description: "The first tick not yet fired; null when the pattern never matches again.",
  }),
  lastTick: z.number().nullable().openapi({ description: "The last tick fired or skipped." }),
  lastTaskId: z.string().nullable().openapi({ description: "The task the last fire submitted." }),
  nextRuns: z.array(z.number()).openapi({
    description: "The next ticks (up to 5); empty while paused.",
  }),
}).openapi("Schedule");

/** `{ schedule }` answers. */
export const ScheduleAnswerSchema = z.object({ schedule: ScheduleSchema }).openapi(
  "ScheduleAnswer",
);

/** `{ schedules }` of `GET /api/schedules`. */
export const SchedulesAnswerSchema = z.object({ schedules: z.array(ScheduleSchema) }).openapi(
  "SchedulesAnswer",
);

/** Path parameter `:name` of a schedule. */
export const ScheduleNameParamSchema = z.object({
  name: z.string().min(1).max(100).openapi({ param: { name: "name", in: "path" } }),
});
