/**
 * Counts every request by route pattern and status, and logs it at debug.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { AppEnv } from "../app_env.ts";
import type { Logger } from "../logger.ts";
import type { HttpMetrics } from "../metrics.ts";

/**
 * Creates the request metrics middleware. It must run first so it sees the
 * final status, including error answers.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { HttpMetrics } from "../metrics.ts";
 * import { silentLogger } from "../logger.ts";
 * import { requestMetrics } from "./request_metrics.ts";
 * const app = new Hono().use(requestMetrics(new HttpMetrics(), silentLogger()));
 * ```
 */
export function requestMetrics(metrics: HttpMetrics, logger: Logger): MiddlewareHandler<AppEnv> {
  return async function requestMetricsMiddleware(c, next) {
    const started = performance.now();
    await next();
    const durationMs = performance.now() - started;
    // The last matched route is the handler's pattern; a lone "*" means nothing matched.
    const pattern = routePath(c, -1);
    const route = pattern === "*" || pattern === "/*" || pattern === "" ? "unmatched" : pattern;
    const status = c.res.status;
    metrics.record(c.req.method, route, status, durationMs);
    if (logger.enabled("debug")) {
      logger.debug("HTTP request", {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        route,
        status,
        ms: Math.round(durationMs * 100) / 100,
      });
    }
  };
}
