/**
 * Refuses request bodies over a size limit with 413, before they are read
 * into memory.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { HttpError } from "../errors.ts";

function tooLarge(limit: number, size?: number): HttpError {
  const received = size === undefined ? "received more" : `received ${size} bytes`;
  return new HttpError(
    413,
    "payload_too_large",
    `The request body must be at most ${limit} bytes: ${received}.`,
    "body",
  );
}

/**
 * Creates the body limit middleware. A declared `Content-Length` over the
 * limit is refused at once; a body without one (chunked) is counted while it
 * is read and refused as soon as it passes the limit.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { bodyLimit } from "./body_limit.ts";
 * const app = new Hono().use(bodyLimit(1024 * 1024));
 * ```
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler {
  // Not async: a body with a declared length passes without a promise of its own.
  return function bodyLimitMiddleware(c, next) {
    const raw = c.req.raw;
    // Headers first: touching `raw.body` would turn the body into a JS stream and slow every read.
    const declared = raw.headers.get("content-length");
    if (declared !== null) {
      const size = Number(declared);
      if (size > maxBytes) throw tooLarge(maxBytes, size);
      return next();
    }
    if (raw.body === null) return next();
    return readCounted(c, next, raw.body, maxBytes);
  };
}

/** Without a length, reads with a counter so a huge body never sits in memory whole. */
async function readCounted(
  c: Parameters<MiddlewareHandler>[0],
  next: Parameters<MiddlewareHandler>[1],
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<void> {
  const raw = c.req.raw;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  c.req.raw = new Request(raw, { body });
  await next();
}
