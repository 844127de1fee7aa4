/**
 * The original ThreadFlow's endpoints, answering its clients as the original
 * C server did: `POST /submit`, `GET /tasks`, `GET /completed_tasks?since=`.
 * Their errors are `{ "error": "<message>" }` (its web client prints
 * `data.error`); `/health` shares that shape and lives in `system.ts`.
 *
 * @module
 */

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { assertToken } from "../middleware/auth.ts";
import type { AppEnv } from "../app_env.ts";
import type { ServiceEngine } from "../engine_port.ts";
import type { CompletionLog, NewestOptions } from "../completion_log.ts";
import { HttpError } from "../errors.ts";
import { NOT_MODIFIED, plainErrorResponses } from "../openapi.ts";
import { describeValue } from "../schemas.ts";

/** What the original endpoints need. */
export interface LegacyRouteDeps {
  engine: ServiceEngine;
  completions: CompletionLog;
  /** The API token, required on these endpoints too when set. */
  token: string | undefined;
}

/** How long the `sleep` task of a `POST /submit` runs, like the original's simulated work. */
export const LEGACY_SLEEP_MS = 100;

/** Completions in one `/completed_tasks` answer unless `?limit=` asks otherwise (the original's ring). */
export const COMPLETED_DEFAULT_LIMIT = 100;

/** The most `?limit=` may ask for. */
export const COMPLETED_MAX_LIMIT = 1000;

/**
 * Paths whose errors take the original's shape `{ "error": "<message>" }`.
 *
 * @example
 * ```ts
 * import { LEGACY_PATHS } from "./legacy.ts";
 * LEGACY_PATHS.has("/submit"); // true
 * ```
 */
export const LEGACY_PATHS: ReadonlySet<string> = new Set([
  "/submit",
  "/tasks",
  "/completed_tasks",
  "/health",
]);

/** Paths any origin may read, as the original allowed (`Access-Control-Allow-Origin: *`). */
export const OPEN_CORS_PATHS: readonly string[] = ["/health", "/completed_tasks"];

const LegacySubmitSchema = z.object({
  data: z.unknown().optional().openapi({ description: "Carried by the task; any JSON value." }),
  priority: z.number().int().min(1).max(10).optional().openapi({
    description: "1 to 10; 10 is the most urgent (run first). Default 5.",
    example: 5,
  }),
}).openapi("LegacySubmit");

const LegacySubmittedSchema = z.object({
  status: z.enum(["success"]),
  task_id: z.string(),
}).openapi("LegacySubmitted");

const LegacyQueuedSchema = z.object({
  tasks: z.number().int().openapi({ description: "Tasks waiting in the queue." }),
}).openapi("LegacyQueued");

const LegacyCompletedSchema = z.object({
  tasks: z.array(z.object({
    id: z.string(),
    completion_time: z.number().int().openapi({ description: "Unix time, whole seconds." }),
  })).openapi({ description: "Newest first." }),
  server_time: z.number().int().openapi({ description: "Unix time, whole seconds." }),
}).openapi("LegacyCompleted");

const CompletedQuerySchema = z.object({
  since: z.string().optional().openapi({
    description: "A Unix time in seconds (whole or fractional): tasks completed in a later " +
      "second. Or a task id: tasks completed after that one. Anything else counts as 0 " +
      "(the newest tasks), as in the original; never an error.",
    example: "1767225600",
  }),
  limit: z.string().optional().openapi({
    description: `Most tasks answered, 1 to ${COMPLETED_MAX_LIMIT}; default ` +
      `${COMPLETED_DEFAULT_LIMIT}, the original's.`,
  }),
});

const submitRoute = createRoute({
  method: "post",
  path: "/submit",
  operationId: "originalSubmit",
  tags: ["original"],
  summary: "Submit a task the original way",
  description: `Runs a ${LEGACY_SLEEP_MS} ms \`sleep\` task carrying \`data\`, like the ` +
    "original's simulated work.",
  request: {
    body: { required: true, content: { "application/json": { schema: LegacySubmitSchema } } },
  },
  responses: {
    200: {
      description: "Queued.",
      content: { "application/json": { schema: LegacySubmittedSchema } },
    },
    ...plainErrorResponses([400, 401, 405, 413, 429, 503]),
  },
});

const queuedRoute = createRoute({
  method: "get",
  path: "/tasks",
  operationId: "originalQueuedCount",
  tags: ["original"],
  summary: "How many tasks wait in the queue",
  description: "A browser asking for HTML (`Accept: text/html`) gets the dashboard's task page.",
  responses: {
    200: {
      description: "The queue's length, or the dashboard's page for a browser.",
      content: {
        "application/json": { schema: LegacyQueuedSchema },
        "text/html": { schema: z.string() },
      },
    },
    ...NOT_MODIFIED,
    ...plainErrorResponses([401, 405, 503]),
  },
});

const completedRoute = createRoute({
  method: "get",
  path: "/completed_tasks",
  operationId: "originalCompletedTasks",
  tags: ["original"],
  summary: "Tasks that ended recently, newest first",
  description: "Any origin may read it (CORS `*`) unless --cors-origin narrows it. The last " +
    "100,000 finished tasks are kept in memory.",
  request: { query: CompletedQuerySchema },
  responses: {
    200: {
      description: "The tasks that ended after `since`, newest first.",
      content: { "application/json": { schema: LegacyCompletedSchema } },
    },
    ...NOT_MODIFIED,
    ...plainErrorResponses([400, 401, 405]),
  },
});

/**
 * Reads `since` as the original did, and more: a Unix time (integer or
 * fractional; negative counts as 0), or the id of a task the log holds.
 * Anything else counts as 0, as the original's `atol` made it.
 *
 * @example
 * ```ts
 * import { readSince } from "./legacy.ts";
 * readSince("1767225600.5"); // { afterSecond: 1767225600 }
 * readSince("yesterday"); // { afterSecond: 0 }
 * ```
 */
export function readSince(raw: string | undefined): Pick<NewestOptions, "afterSecond" | "afterId"> {
  if (raw === undefined) return { afterSecond: 0 };
  const text = raw.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    const seconds = Math.trunc(Number(text));
    return { afterSecond: Number.isFinite(seconds) && seconds > 0 ? seconds : 0 };
  }
  // Not a number: a task id when the log holds it, else nothing (the newest tasks).
  return text === "" ? { afterSecond: 0 } : { afterSecond: 0, afterId: text };
}

/**
 * Registers the original endpoints and their OpenAPI definitions.
 *
 * @example
 * ```ts ignore
 * registerLegacyRoutes(app, { engine, completions: new CompletionLog(), token: undefined });
 * ```
 */
export function registerLegacyRoutes(app: OpenAPIHono<AppEnv>, deps: LegacyRouteDeps): void {
  const { engine, completions } = deps;
  const auth = (c: Context) => {
    if (deps.token !== undefined) assertToken(c, deps.token);
  };

  // Served by plain handlers: the original took any Content-Type and never refused `since`,
  // which the generated validators would.
  app.openAPIRegistry.registerPath(submitRoute);
  app.post("/submit", async (c) => {
    auth(c);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new HttpError(400, "invalid_json", "The request body must be valid JSON.", "body");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(
        400,
        "validation_error",
        "The body must be an object like { data, priority }.",
        "body",
      );
    }
    const { data, priority } = body as Record<string, unknown>;
    if (
      priority !== undefined &&
      (typeof priority !== "number" || !Number.isInteger(priority) || priority < 1 ||
        priority > 10)
    ) {
      throw new HttpError(
        400,
        "validation_error",
        `Priority must be an integer from 1 to 10: received ${describeValue(priority)}.`,
        "priority",
      );
    }
    const task = await engine.submit({
      type: "sleep",
      payload: { ms: LEGACY_SLEEP_MS, data: data ?? null },
      priority: priority as number | undefined,
    });
    return c.json({ status: "success", task_id: task.id });
  });

  // GET /tasks is also the dashboard's task page: browsers asking for HTML fall through to it.
  app.openAPIRegistry.registerPath(queuedRoute);
  app.get("/tasks", async (c, next) => {
    if (prefersHtml(c.req.header("accept"))) return await next();
    auth(c);
    const stats = await engine.stats();
    return c.json({ tasks: stats.counts.queued });
  });

  app.openAPIRegistry.registerPath(completedRoute);
  app.get("/completed_tasks", (c) => {
    auth(c);
    const limit = readLimit(c.req.query("limit"));
    const tasks = completions.newest({ limit, ...readSince(c.req.query("since")) }).map((
      completion,
    ) => ({
      id: completion.id,
      completion_time: Math.floor(completion.finishedAt / 1000),
    }));
    return c.json({ tasks, server_time: Math.floor(Date.now() / 1000) });
  });
}

function readLimit(raw: string | undefined): number {
  if (raw === undefined) return COMPLETED_DEFAULT_LIMIT;
  const limit = /^\s*\d{1,7}\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(limit >= 1 && limit <= COMPLETED_MAX_LIMIT)) {
    throw new HttpError(
      400,
      "validation_error",
      `limit must be an integer from 1 to ${COMPLETED_MAX_LIMIT}: received ${describeValue(raw)}.`,
      "limit",
    );
  }
  return limit;
}

function prefersHtml(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes("text/html");
}
