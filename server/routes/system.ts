/**
 * Routes about the service itself: stats, workers, health,
 * readiness and Prometheus metrics.
 *
 * @module
 */

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app_env.ts";
import type { ServiceEngine } from "../engine_port.ts";
import type { HttpMetrics, TaskCounters, WebSocketFigures } from "../metrics.ts";
import { renderMetrics } from "../metrics.ts";
import { readProcessFigures } from "../process_metrics.ts";
import { openTimers } from "../timer_count.ts";
import { errorResponses, NO_SECURITY, NOT_MODIFIED, plainErrorResponses } from "../openapi.ts";
import { StatsAnswerSchema, WorkersAnswerSchema } from "../schemas.ts";

/** What the system routes need. */
export interface SystemRouteDeps {
  engine: ServiceEngine;
  metrics: HttpMetrics;
  /** Tasks submitted and finished, counted from the engine's events. */
  taskCounters: TaskCounters;
  webSocketFigures: () => WebSocketFigures;
  /** Whether the service takes work (false while starting or draining). */
  isReady: () => boolean;
  /** The port the server listens on (`/health`'s `http_port`). */
  httpPort: () => number;
  /** The service's version (`/health`'s `version`). */
  version: string;
  /** When the service started, ms since epoch (`/health`'s `uptime`). */
  startedAt: number;
}

const statsRoute = createRoute({
  method: "get",
  path: "/stats",
  operationId: "getStats",
  tags: ["service"],
  summary: "Engine statistics",
  responses: {
    200: {
      description: "Counts, queue depth, latency, throughput, workers.",
      content: { "application/json": { schema: StatsAnswerSchema } },
    },
    ...NOT_MODIFIED,
    ...errorResponses([401, 405, 503]),
  },
});

const workersRoute = createRoute({
  method: "get",
  path: "/workers",
  operationId: "getWorkers",
  tags: ["service"],
  summary: "Worker slots",
  responses: {
    200: {
      description: "Each worker slot of this node, and of every node sharing the store.",
      content: { "application/json": { schema: WorkersAnswerSchema } },
    },
    ...NOT_MODIFIED,
    ...errorResponses([401, 405, 503]),
  },
});

/**
 * Registers `/api/stats` and `/api/workers` on the `/api` sub-app.
 *
 * @example
 * ```ts ignore
 * registerApiSystemRoutes(api, systemDeps);
 * ```
 */
export function registerApiSystemRoutes(api: OpenAPIHono<AppEnv>, deps: SystemRouteDeps): void {
  const { engine } = deps;
  api.openapi(statsRoute, async (c) => c.json({ stats: { ...await engine.stats() } }, 200));
  api.openapi(
    workersRoute,
    async (c) =>
      c.json({
        workers: engine.workers(),
        nodes: await engine.nodes(),
        stuckThreads: engine.stuckThreads(),
      }, 200),
  );
}

/** `/health`: its own `status`, and the original ThreadFlow's fields beside it. */
export const HealthSchema = z.object({
  status: z.enum(["ok", "starting"]).openapi({
    description: "`ok`, or `starting` while the engine and its store open.",
  }),
  http_port: z.number().int().openapi({ description: "The port the service listens on." }),
  version: z.string().openapi({ example: "0.1.0" }),
  uptime: z.number().int().openapi({ description: "Whole seconds since the service started." }),
}).openapi("Health");

const ReadySchema = z.object({ status: z.enum(["ready"]) }).openapi("Ready");

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  operationId: "getHealth",
  tags: ["service", "original"],
  summary: "Liveness: the process answers",
  description: "Any origin may read it (CORS `*`) unless --cors-origin narrows it. Errors are " +
    '`{ error: "<message>" }`, as on the original endpoints.',
  security: NO_SECURITY,
  responses: {
    200: { description: "Alive.", content: { "application/json": { schema: HealthSchema } } },
    ...NOT_MODIFIED,
    ...plainErrorResponses([405]),
  },
});

const readyRoute = createRoute({
  method: "get",
  path: "/ready",
  operationId: "getReadiness",
  tags: ["service"],
  summary: "Readiness: 503 while starting, draining, or the store is unreachable",
  security: NO_SECURITY,
  responses: {
    200: { description: "Taking work.", content: { "application/json": { schema: ReadySchema } } },
    ...NOT_MODIFIED,
    ...errorResponses([405, 503]),
  },
});

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  operationId: "getMetrics",
  tags: ["service"],
  summary: "Prometheus metrics",
  security: NO_SECURITY,
  responses: {
    200: {
      description: "Prometheus text format 0.0.4.",
      content: { "text/plain": { schema: z.string() } },
    },
    ...NOT_MODIFIED,
    ...errorResponses([405, 503]),
  },
});

/**
 * `/health`'s answer.
 *
 * @example
 * ```ts ignore
 * healthBody(systemDeps); // { status: "ok", http_port: 8081, version: "0.1.0", uptime: 12 }
 * ```
 */
export function healthBody(deps: Pick<SystemRouteDeps, "httpPort" | "version" | "startedAt">) {
  return {
    status: "ok" as const,
    http_port: deps.httpPort(),
    version: deps.version,
    uptime: Math.floor((Date.now() - deps.startedAt) / 1000),
  };
}

/**
 * Registers `/health`, `/ready` and `/metrics` at the root.
 *
 * @example
 * ```ts ignore
 * registerRootSystemRoutes(app, systemDeps);
 * ```
 */
export function registerRootSystemRoutes(app: OpenAPIHono<AppEnv>, deps: SystemRouteDeps): void {
  app.openapi(healthRoute, (c) => c.json(healthBody(deps), 200));
  app.openapi(readyRoute, (c) => {
    const { engine } = deps;
    if (deps.isReady() && engine.state === "running" && engine.healthy) {
      return c.json({ status: "ready" as const }, 200);
    }
    const message = !engine.healthy
      ? "ThreadFlow cannot reach its task store; it keeps trying."
      : `ThreadFlow is not taking work right now (engine ${engine.state}).`;
    return c.json({ error: { code: "not_ready", message } }, 503);
  });
  app.openapi(metricsRoute, async (c) => {
    const text = renderMetrics(await deps.engine.stats(), {
      http: deps.metrics,
      webSocket: deps.webSocketFigures(),
      tasks: deps.taskCounters,
      process: await readProcessFigures(),
      workers: deps.engine.workers(),
      stuckThreads: deps.engine.stuckThreads().length,
      openTimers: openTimers(),
    });
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
}
