/**
 * Gives each request an id: the client's `X-Request-Id` when it is sane,
 * otherwise a new process-unique id. The id is echoed in the answer and stored as
 * `c.get("requestId")` for logs.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_env.ts";

const SANE_ID = /^[\w.:-]{1,200}$/;

/**
 * Ids are a random per-process prefix and a counter: unique, and far cheaper
 * per request than a random UUID.
 */
const PREFIX = crypto.randomUUID().slice(0, 8);
let counter = 0;

function nextId(): string {
  counter++;
  return `${PREFIX}-${counter.toString(36)}`;
}

/**
 * The id of a request that offered `offered` as its `X-Request-Id`: that one
 * when it is sane, otherwise a new one.
 *
 * @example
 * ```ts
 * import { requestIdFor } from "./request_id.ts";
 * requestIdFor("job-42"); // "job-42"
 * ```
 */
export function requestIdFor(offered: string | undefined): string {
  return offered !== undefined && SANE_ID.test(offered) ? offered : nextId();
}

/**
 * Creates the request id middleware.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { requestId } from "./request_id.ts";
 * const app = new Hono().use(requestId());
 * ```
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const id = requestIdFor(c.req.header("x-request-id"));
    c.set("requestId", id);
    await next();
    // A WebSocket upgrade answer (101) has immutable headers.
    if (c.res.status !== 101) c.res.headers.set("x-request-id", id);
  };
}
