/**
 * CORS for a configured list of origins (none by default).
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";

const ALLOWED_METHODS = "GET, POST, OPTIONS";
const ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-Id";

/**
 * Answers preflight requests and adds `Access-Control-Allow-Origin` for the
 * allowed origins. With an empty list it does nothing, so browsers on other
 * origins are refused by their own same-origin policy. `*` allows any origin.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { cors } from "./cors.ts";
 * const app = new Hono().use(cors(["http://localhost:3000"]));
 * ```
 */
export function cors(origins: readonly string[]): MiddlewareHandler {
  const anyOrigin = origins.includes("*");
  const allowed = new Set(origins);
  return async function corsMiddleware(c, next) {
    const origin = c.req.header("origin");
    if (origins.length === 0 || origin === undefined) return await next();
    const allowOrigin = anyOrigin ? "*" : allowed.has(origin) ? origin : undefined;
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
      const headers = new Headers({ vary: "Origin" });
      if (allowOrigin !== undefined) {
        headers.set("access-control-allow-origin", allowOrigin);
        headers.set("access-control-allow-methods", ALLOWED_METHODS);
        headers.set("access-control-allow-headers", ALLOWED_HEADERS);
        headers.set("access-control-max-age", "600");
      }
      return new Response(null, { status: 204, headers });
    }
    await next();
    if (allowOrigin !== undefined && c.res.status !== 101) {
      c.res.headers.set("access-control-allow-origin", allowOrigin);
      c.res.headers.set("access-control-expose-headers", "X-Request-Id, Retry-After");
      c.res.headers.append("vary", "Origin");
    }
  };
}
