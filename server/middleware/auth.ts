/**
 * Bearer-token authentication with a constant-time comparison.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "../errors.ts";

/**
 * Compares two strings in time that depends only on their lengths, so the
 * answer time does not reveal how much of a guessed token was right.
 *
 * @example
 * ```ts
 * import { timingSafeEqual } from "./auth.ts";
 * timingSafeEqual("secret", "secret"); // true
 * ```
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const actual = new TextEncoder().encode(a);
  const expected = new TextEncoder().encode(b);
  // Always walk the whole expected value; a length mismatch is folded in, not returned early.
  let difference = actual.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    difference |= expected[i] ^ (actual[i] ?? 0);
  }
  return difference === 0;
}

/**
 * Reads the token from `Authorization: Bearer <token>`; `undefined` when absent.
 *
 * @example
 * ```ts
 * import { bearerToken } from "./auth.ts";
 * bearerToken("Bearer s3cret"); // "s3cret"
 * ```
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1].trim() : undefined;
}

/**
 * Whether an `Authorization` header carries `Bearer <token>`.
 *
 * @example
 * ```ts
 * import { hasToken } from "./auth.ts";
 * hasToken("Bearer s3cret", "s3cret"); // true
 * ```
 */
export function hasToken(header: string | undefined, token: string): boolean {
  const offered = bearerToken(header);
  return offered !== undefined && timingSafeEqual(offered, token);
}

/**
 * Throws a 401 {@linkcode HttpError} unless the request carries
 * `Authorization: Bearer <token>`. For handlers that decide per request
 * whether a token is needed.
 *
 * @example
 * ```ts ignore
 * app.get("/tasks", (c) => {
 *   assertToken(c, "s3cret");
 *   return c.json({ tasks: 0 });
 * });
 * ```
 */
export function assertToken(c: Context, token: string): void {
  const offered = bearerToken(c.req.header("authorization"));
  if (offered === undefined) {
    c.header("www-authenticate", 'Bearer realm="threadflow"');
    throw new HttpError(
      401,
      "unauthorized",
      "This server requires an API token: send it as Authorization: Bearer <token>.",
      "authorization",
    );
  }
  if (!timingSafeEqual(offered, token)) {
    c.header("www-authenticate", 'Bearer realm="threadflow", error="invalid_token"');
    throw new HttpError(401, "unauthorized", "The API token is not valid.", "authorization");
  }
}

/**
 * Requires `Authorization: Bearer <token>` when `token` is set; passes every
 * request through when it is `undefined`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { tokenAuth } from "./auth.ts";
 * const app = new Hono().use("/api/*", tokenAuth("s3cret"));
 * ```
 */
export function tokenAuth(token: string | undefined): MiddlewareHandler {
  return async function tokenAuthMiddleware(c, next) {
    if (token !== undefined && c.req.method !== "OPTIONS") assertToken(c, token);
    await next();
  };
}
