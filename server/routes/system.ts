/**
 * Routes about the service itself: stats, workers, task types, health,
 * readiness and Prometheus metrics.
 *
 * @module
 */

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app_env.ts";
import type { ServiceEngine } from "../engine_port.ts";
import type { HttpMetrics, WebSocketFigures } from "../metrics.ts";
import { renderMetrics } from "../metrics.ts";
import {
  ErrorSchema,
  StatsAnswerSchema,
  TaskTypesAnswerSchema,
  WorkersAnswerSchema,
} from "../schemas.ts";

/** What the system routes need. */
export interface SystemRouteDeps {
  engine: ServiceEngine;
  metrics: HttpMetrics;
  webSocketFigures: () => WebSocketFigures;
  /** Whether the service takes work (false while starting or draining). */
  isReady: () => boolean;
}

const unauthorized = {
  401: {
    description: "Missing or wrong API token.",
    content: { "application/json": { schema: ErrorSchema } },
  },
};

const statsRoute = createRoute({
  method: "get",
  path: "/stats",
  summary: "Engine statistics",
  responses: {
    200: {
      description: "Counts, queue depth, latency, throughput, workers.",
      content: { "application/json": { schema: StatsAnswerSchema } },
    },
    ...unauthorized,
  },
});

const workersRoute = createRoute({
  method: "get",
  path: "/workers",
  summary: "Worker slots",
  responses: {
    200: {
      description: "Each worker slot of this node, and of every node sharing the store.",
      content: { "application/json": { schema: WorkersAnswerSchema } },
    },
    ...unauthorized,
  },
});

const taskTypesRoute = createRoute({
  method: "get",
  path: "/task-types",
  summary: "Task types this server runs",
  responses: {
    200: {
      description: "Built-in and tasksDir types.",
      content: { "application/json": { schema: TaskTypesAnswerSchema } },
    },
    ...unauthorized,
  },
});

/**
 * Registers `/api/stats`, `/api/workers` and `/api/task-types` on the `/api` sub-app.
 *
 * @example
 * ```ts ignore
 * registerApiSystemRoutes(api, { engine, metrics, webSocketFigures, isReady: () => true });
 * ```
 */
export function registerApiSystemRoutes(api: OpenAPIHono<AppEnv>, deps: SystemRouteDeps): void {
  const { engine } = deps;
  api.openapi(statsRoute, async (c) => c.json({ stats: { ...await engine.stats() } }, 200));
  api.openapi(
    workersRoute,
    async (c) => c.json({ workers: engine.workers(), nodes: await engine.nodes() }, 200),
  );
  api.openapi(taskTypesRoute, (c) => c.json({ taskTypes: engine.taskTypes() }, 200));
}

const HealthSchema = z.object({ status: z.string() }).openapi("Health");

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  summary: "Liveness: the process answers",
  responses: {
    200: { description: "Alive.", content: { "application/json": { schema: HealthSchema } } },
  },
});

const readyRoute = createRoute({
  method: "get",
  path: "/ready",
  summary: "Readiness: 503 while starting, draining, or the store is unreachable",
  responses: {
    200: { description: "Taking work.", content: { "application/json": { schema: HealthSchema } } },
    503: {
      description: "Starting, draining, or the engine is not running.",
      content: { "application/json": { schema: ErrorSchema } },
    },
  },
});

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics",
  responses: {
    200: {
      description: "Prometheus text format 0.0.4.",
      content: { "text/plain": { schema: z.string() } },
    },
  },
});

/**
 * Registers `/health`, `/ready` and `/metrics` at the root.
 *
 * @example
 * ```ts ignore
 * registerRootSystemRoutes(app, { engine, metrics, webSocketFigures, isReady: () => true });
 * ```
 */
export function registerRootSystemRoutes(app: OpenAPIHono<AppEnv>, deps: SystemRouteDeps): void {
  app.openapi(healthRoute, (c) => c.json({ status: "ok" }, 200));
  app.openapi(readyRoute, (c) => {
    const { engine } = deps;
    if (deps.isReady() && engine.state === "running" && engine.healthy) {
      return c.json({ status: "ready" }, 200);
    }
    const message = !engine.healthy
      ? "ThreadFlow cannot reach its task store; it keeps trying."
      : `ThreadFlow is not taking work right now (engine ${engine.state}).`;
    return c.json({ error: { code: "not_ready", message } }, 503);
  });
  app.openapi(metricsRoute, async (c) => {
    const text = renderMetrics(await deps.engine.stats(), deps.metrics, deps.webSocketFigures());
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
}
