/**
 * CORS for a configured list of origins (none by default), and for a few
 * read-only paths open to any origin unless the list narrows them.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";

const ALLOWED_METHODS = "GET, POST, OPTIONS";
const READ_ONLY_METHODS = "GET, HEAD, OPTIONS";
const ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-Id";

/** Options of {@linkcode cors}. */
export interface CorsOptions {
  /**
   * Paths any origin may read (`GET`, `HEAD`) when `origins` is empty, as
   * the original ThreadFlow allowed `/health` and `/completed_tasks`; no
   * credentials are involved. A non-empty `origins` list applies to them too.
   * Default: none.
   */
  openPaths?: readonly string[];
}

/**
 * Answers preflight requests and adds `Access-Control-Allow-Origin` for the
 * allowed origins. With an empty list it does nothing (except on
 * `openPaths`), so browsers on other origins are refused by their own
 * same-origin policy. `*` allows any origin.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { cors } from "./cors.ts";
 * const app = new Hono().use(cors(["http://localhost:3000"], { openPaths: ["/health"] }));
 * ```
 */
export function cors(origins: readonly string[], options: CorsOptions = {}): MiddlewareHandler {
  const anyOrigin = origins.includes("*");
  const allowed = new Set(origins);
  const openPaths = new Set(origins.length === 0 ? options.openPaths ?? [] : []);
  // Not async: most requests pass straight through, without a promise of their own.
  return function corsMiddleware(c, next) {
    const origin = c.req.header("origin");
    if (origin === undefined) return next();
    const open = openPaths.has(c.req.path);
    if (!open && origins.length === 0) return next();
    return answer(c, next, origin, open);
  };

  async function answer(
    c: Parameters<MiddlewareHandler>[0],
    next: Parameters<MiddlewareHandler>[1],
    origin: string,
    open: boolean,
  ): Promise<Response | void> {
    const allowOrigin = open || anyOrigin ? "*" : allowed.has(origin) ? origin : undefined;
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
      const headers = new Headers({ vary: "Origin" });
      if (allowOrigin !== undefined) {
        headers.set("access-control-allow-origin", allowOrigin);
        headers.set("access-control-allow-methods", open ? READ_ONLY_METHODS : ALLOWED_METHODS);
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
  }
}
