/**
 * Gives every 401 answer a `WWW-Authenticate` challenge (RFC 9110 15.5.2),
 * whichever route refused the request: the API, the original endpoints or the
 * dashboard's "Token required" page.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";

/** The challenge sent when a route set none of its own. */
export const BEARER_CHALLENGE = 'Bearer realm="threadflow"';

/**
 * Creates the middleware: a 401 without `WWW-Authenticate` gets
 * {@linkcode BEARER_CHALLENGE}; a challenge a route set (such as
 * `error="invalid_token"`) is kept.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { wwwAuthenticate } from "./www_authenticate.ts";
 * const app = new Hono().use(wwwAuthenticate());
 * ```
 */
export function wwwAuthenticate(): MiddlewareHandler {
  return async function wwwAuthenticateMiddleware(c, next) {
    await next();
    if (c.res.status === 401 && !c.res.headers.has("www-authenticate")) {
      c.res.headers.set("www-authenticate", BEARER_CHALLENGE);
    }
  };
}
