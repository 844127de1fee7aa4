/**
 * Compresses answers with the platform's `CompressionStream` (brotli and
 * gzip), sends an answer chunked where that saves Deno a write
 * ({@linkcode sendsChunked}), gives a `HEAD` answer the length its `GET`'s
 * body has, and (optionally)
 * gives `GET`/`HEAD` answers a weak `ETag` and answers `If-None-Match` with 304.
 *
 * Hono's own `compress` middleware is not used: it skips `HEAD` (whose headers
 * must match the `GET`) and measures its threshold from a `Content-Length` that
 * `c.json()` answers do not have, so it compressed every small JSON answer.
 * Hono's `etag` is not used either: it reads every answer a second time through
 * a cloned stream and hashes it with an asynchronous SHA-1, which cost a third
 * of a small `GET`'s time; here the bytes already read are hashed in place.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { COMPRESSIBLE_CONTENT_TYPE_REGEX } from "hono/compress";

/** A content coding this middleware can produce. */
export type ContentCoding = "br" | "gzip";

/** Options of {@linkcode compression}. */
export interface CompressionOptions {
  /** Smallest body, in bytes, worth compressing. Default {@linkcode DEFAULT_THRESHOLD}. */
  threshold?: number;
  /**
   * Codings offered, in the server's order of preference when the client
   * likes several equally. Default: `br` (when this runtime's
   * `CompressionStream` has brotli) then `gzip`.
   */
  codings?: readonly ContentCoding[];
  /**
   * Give `GET` and `HEAD` answers (2xx) without an `ETag` a weak one computed
   * from their identity bytes, and answer a matching `If-None-Match` (or `*`)
   * with 304. Default `false`.
   */
  etag?: boolean;
}

/** Smallest body, in bytes, compressed unless the options say otherwise. */
export const DEFAULT_THRESHOLD = 1024;

/**
 * Bodies from this many bytes up to {@linkcode CHUNKED_UP_TO} go out chunked
 * instead of with a `Content-Length`. Deno 2.9 gathers an answer of known
 * length in a 512-byte buffer per connection: once head and body pass it, the
 * head and the body are two `sendto` calls, and on loopback each one runs and
 * wakes the client (a task's answer is about 540 bytes). A chunked answer is
 * gathered whole, up to 64 KiB, and goes out in one. Deno still frames it by
 * length for an HTTP/1.0 client.
 */
export const CHUNKED_FROM_BYTES = 256;

/** Largest body sent chunked; a larger one takes several writes either way, and keeps its length. */
export const CHUNKED_UP_TO = 64 * 1024;

/** Headers a 304 keeps (RFC 9110 15.4.5: those a 200 would have sent that matter to caches). */
const RETAINED_304_HEADERS = [
  "cache-control",
  "content-location",
  "date",
  "etag",
  "expires",
  "vary",
];

const STREAM_FORMAT: Record<ContentCoding, string> = { br: "brotli", gzip: "gzip" };
const NO_TRANSFORM = /(?:^|,)\s*no-transform\s*(?:,|$)/i;
const VARY_ACCEPT_ENCODING = /(?:^|,)\s*accept-encoding\s*(?:,|$)/i;

/**
 * The codings this runtime's `CompressionStream` can produce, best first.
 *
 * @example
 * ```ts
 * import { availableCodings } from "./compression.ts";
 * availableCodings(); // ["br", "gzip"] on Deno 2.9
 * ```
 */
export function availableCodings(): ContentCoding[] {
  const codings: ContentCoding[] = [];
  for (const coding of ["br", "gzip"] as const) {
    try {
      new CompressionStream(STREAM_FORMAT[coding] as CompressionFormat);
      codings.push(coding);
    } catch {
      // This runtime lacks the format; offer the others.
    }
  }
  return codings;
}

/**
 * The coding to answer with for an `Accept-Encoding` header: the one with the
 * highest quality among `offered` (ties go to the earlier one), or
 * `undefined` for none (no header, `identity` only, or `q=0` everywhere).
 *
 * @example
 * ```ts
 * import { negotiateCoding } from "./compression.ts";
 * negotiateCoding("gzip, deflate, br;q=0.8", ["br", "gzip"]); // "gzip"
 * ```
 */
export function negotiateCoding(
  header: string | undefined,
  offered: readonly ContentCoding[],
): ContentCoding | undefined {
  if (header === undefined) return undefined;
  const quality = new Map<string, number>();
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (name === "") continue;
    let q = 1;
    for (const param of params) {
      const [key, value] = param.trim().split("=");
      if (key === "q") q = Number(value);
    }
    quality.set(name.trim(), Number.isFinite(q) ? q : 0);
  }
  let best: ContentCoding | undefined;
  let bestQuality = 0;
  for (const coding of offered) {
    const q = quality.get(coding) ?? quality.get("*") ?? 0;
    if (q > bestQuality) {
      best = coding;
      bestQuality = q;
    }
  }
  return best;
}

/**
 * Creates the compression middleware. Bodies of compressible types (HTML,
 * CSS, JavaScript, JSON, text such as `/metrics`) at or above the threshold
 * are encoded with the best coding the client accepts and carry
 * `Vary: Accept-Encoding`; a strong `ETag` becomes weak when the body is
 * encoded. An answer goes out chunked when {@linkcode sendsChunked} says so;
 * Deno gives the others their exact `Content-Length`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { compression } from "./compression.ts";
 * const app = new Hono().use(compression({ threshold: 1024 }));
 * ```
 */
export function compression(options: CompressionOptions = {}): MiddlewareHandler {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const codings = options.codings ?? availableCodings();
  const tagged = options.etag ?? false;
  return async function compressionMiddleware(c, next) {
    await next();
    const res = c.res;
    if (res.status < 200 || res.status === 204 || res.status === 304) return;
    const type = res.headers.get("content-type") ?? "";
    // A stream of events has no end to measure; pass it through as it is.
    if (type.startsWith("text/event-stream")) return;
    // Not `res.body === null`: reading `body` turns a string body into a stream, which cost
    // more than the rest of this middleware; `arrayBuffer()` takes a string body as it is.
    let body: Uint8Array = new Uint8Array(await res.arrayBuffer());
    if (body.byteLength === 0 && res.bodyUsed === false) return; // no body at all
    const headers = new Headers(res.headers);
    const method = c.req.method;
    if (tagged && res.ok && (method === "GET" || method === "HEAD")) {
      let etag = headers.get("etag");
      if (etag === null) {
        etag = weakTag(body);
        headers.set("etag", etag);
      }
      if (noneMatch(c.req.header("if-none-match"), etag)) {
        c.res = undefined;
        c.res = notModified(headers);
        return;
      }
    }
    const compressible = body.byteLength >= threshold &&
      COMPRESSIBLE_CONTENT_TYPE_REGEX.test(type) &&
      !headers.has("content-encoding") &&
      !NO_TRANSFORM.test(headers.get("cache-control") ?? "");
    if (compressible) {
      const vary = headers.get("vary");
      if (vary !== "*" && !(vary !== null && VARY_ACCEPT_ENCODING.test(vary))) {
        headers.set("vary", vary ? `${vary}, Accept-Encoding` : "Accept-Encoding");
      }
      const coding = negotiateCoding(c.req.header("accept-encoding"), codings);
      if (coding !== undefined) {
        body = await encode(body, coding);
        headers.set("content-encoding", coding);
        // The encoded bytes differ from the identity ones: only a weak validator still holds.
        const etag = headers.get("etag");
        if (etag !== null && !etag.startsWith("W/")) headers.set("etag", `W/${etag}`);
      }
    }
    // A `HEAD` answer has no body to frame: it carries the length its `GET`'s body has.
    const head = c.req.method === "HEAD";
    headers.delete("content-length");
    if (head) headers.set("content-length", String(body.byteLength));
    else if (sendsChunked(body.byteLength)) headers.set("transfer-encoding", "chunked");
    // Assigning over an answer makes Hono copy the old headers onto the new one: clear it first.
    c.res = undefined;
    c.res = new Response(head ? null : body as Uint8Array<ArrayBuffer>, {
      status: res.status,
      statusText: res.statusText,
      headers,
    });
  };
}

/**
 * Whether an answer whose body is `bytes` long goes out chunked: from
 * {@linkcode CHUNKED_FROM_BYTES} to {@linkcode CHUNKED_UP_TO} bytes (one write
 * instead of two). Any other answer carries no framing header of ours: Deno
 * gives it its `Content-Length`, and spends less doing so than when it is set
 * here (GET /health: about 7 % more answers a second without it).
 *
 * @example
 * ```ts
 * import { sendsChunked } from "./compression.ts";
 * sendsChunked(40); // false
 * sendsChunked(400); // true
 * ```
 */
export function sendsChunked(bytes: number): boolean {
  return bytes >= CHUNKED_FROM_BYTES && bytes <= CHUNKED_UP_TO;
}

/**
 * A weak entity tag for `bytes`: their length and two 32-bit FNV-1a hashes
 * (different offsets), computed synchronously. Equal bytes always give equal
 * tags; a weak tag only claims the representations are equivalent.
 *
 * @example
 * ```ts
 * import { weakTag } from "./compression.ts";
 * weakTag(new TextEncoder().encode("{}")); // 'W/"2-…"'
 * ```
 */
export function weakTag(bytes: Uint8Array): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i], 0x01000193);
    b = Math.imul(b ^ bytes[i], 0x5bd1e995);
  }
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
  return `W/"${bytes.length.toString(16)}-${hex(a)}${hex(b)}"`;
}

/**
 * Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 13.1.2) or is `*`.
 *
 * @example
 * ```ts
 * import { noneMatch } from "./compression.ts";
 * noneMatch('W/"2-a", W/"3-b"', 'W/"3-b"'); // true
 * ```
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  const wanted = etag.startsWith("W/") ? etag.slice(2) : etag;
  for (const part of header.split(",")) {
    const tag = part.trim();
    if ((tag.startsWith("W/") ? tag.slice(2) : tag) === wanted) return true;
  }
  return false;
}

function notModified(headers: Headers): Response {
  const kept = new Headers();
  for (const name of RETAINED_304_HEADERS) {
    const value = headers.get(name);
    if (value !== null) kept.set(name, value);
  }
  return new Response(null, { status: 304, headers: kept });
}

/**
 * `bytes` encoded with `coding`.
 *
 * @example
 * ```ts
 * import { encode } from "./compression.ts";
 * const gzipped = await encode(new TextEncoder().encode("{}"), "gzip");
 * ```
 */
export async function encode(bytes: Uint8Array, coding: ContentCoding): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream(STREAM_FORMAT[coding] as CompressionFormat));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
