/**
 * `GET /api/history`: the dashboard's charts, one window of the service's
 * per-second history (see `server/history.ts`).
 *
 * @module
 */

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app_env.ts";
import type { DashboardHistory } from "../dashboard_state.ts";
import { errorResponses, NOT_MODIFIED } from "../openapi.ts";

const column = z.array(z.number().nullable());

/** `{ history, workerLoad }` of `GET /api/history`. */
export const HistoryAnswerSchema = z.object({
  history: z.object({
    seconds: z.number().int().openapi({ description: "Length of the window, seconds." }),
    stepMs: z.number().int().openapi({
      description: "Length of one step: 1,000 ms for 5 minutes, 10,000 ms for an hour.",
    }),
    t: z.array(z.number()).openapi({ description: "Start of each step, ms since epoch." }),
    throughput: column.openapi({ description: "Tasks finished per second (step average)." }),
    waitP50: column.openapi({ description: "Median wait (ready → started) in the step, ms." }),
    waitP95: column,
    runP50: column.openapi({ description: "Median run time of the tasks finished, ms." }),
    runP95: column,
    queued: z.record(z.string(), column).openapi({
      description: 'Most tasks queued during each step, per priority "1".."10".',
    }),
  }).openapi({ description: "Columns, one entry per step, oldest first; null: no data." }),
  workerLoad: z.record(z.string(), z.number()).openapi({
    description: "Share of the last minute each worker slot of this node was busy, 0–1.",
  }),
}).openapi("HistoryAnswer");

/** Query of `GET /api/history`. */
export const HistoryQuerySchema = z.object({
  window: z.enum(["300", "3600"], {
    error: (issue) =>
      `window must be 300 or 3600 (seconds): received ${JSON.stringify(issue.input)}.`,
  }).optional().openapi({ description: "Seconds: 300 (default) or 3600." }),
  since: z.string().regex(/^\d{1,16}$/, {
    error: (issue) =>
      `since must be a time in ms since the epoch: received ${JSON.stringify(issue.input)}.`,
  }).optional().openapi({ description: "Only the steps that start after this time (ms)." }),
});

const historyRoute = createRoute({
  method: "get",
  path: "/api/history",
  operationId: "getHistory",
  tags: ["service"],
  summary: "Throughput, latency and queue depth, second by second",
  request: { query: HistoryQuerySchema },
  responses: {
    200: {
      description: "The last 5 minutes (1 s steps) or hour (10 s steps), and worker loads.",
      content: { "application/json": { schema: HistoryAnswerSchema } },
    },
    ...NOT_MODIFIED,
    ...errorResponses([400, 401, 405, 503]),
  },
});

/**
 * Registers `GET /api/history` on the root app (behind the `/api` token check).
 *
 * @example
 * ```ts ignore
 * registerHistoryRoutes(app, { history: sampler.history });
 * ```
 */
export function registerHistoryRoutes(
  app: OpenAPIHono<AppEnv>,
  deps: { history: DashboardHistory },
): void {
  app.openapi(historyRoute, (c) => {
    const query = c.req.valid("query");
    const seconds = Number(query.window ?? 300);
    const since = query.since === undefined ? undefined : Number(query.since);
    return c.json(
      { history: deps.history.window(seconds, { since }), workerLoad: deps.history.workerLoad() },
      200,
    );
  });
}
