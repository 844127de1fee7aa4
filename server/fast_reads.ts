/**
 * The two reads clients poll (`GET /health` and `GET /api/tasks/:id`),
 * answered without the middleware chain when the answer is plain: the chain
 * (metrics, request id, CORS, compression and ETag, 405, body limit, auth)
 * costs several times the handler, and these are most of a polling client's
 * requests.
 *
 * The answer is the chain's, byte for byte: the same body, `ETag`,
 * `X-Request-Id` and 304 on a matching `If-None-Match`, the same request
 * counter and duration in `/metrics`. Anything this module would have to
 * answer differently goes to the chain instead: a query string, an `Origin`
 * (CORS), a request body (the body limit), an answer large enough to
 * compress, a missing or wrong token, an unknown task, a failed read, debug
 * request logging.
 *
 * @module
 */

import type { Task } from "../engine/mod.ts";
import type { Logger } from "./logger.ts";
import type { HttpMetrics } from "./metrics.ts";
import { bearerToken, timingSafeEqual } from "./middleware/auth.ts";
import { noneMatch, weakTag } from "./middleware/compression.ts";
import { requestIdFor } from "./middleware/request_id.ts";
import { taskToJson } from "./task_json.ts";

/** What the fast reads need from the service. */
export interface FastReadDeps {
  metrics: HttpMetrics;
  logger: Logger;
  /** Bearer token `/api` requires, or `undefined`. */
  token: string | undefined;
  /** Smallest body the chain compresses (its threshold); larger answers go there. */
  compressThreshold: number;
  /** `/health`'s body. */
  health(): unknown;
  /** The task with this id, or `undefined`. */
  getTask(id: string): Promise<Task | undefined>;
  /** The whole chain, for every request these reads do not answer. */
  chain(request: Request): Response | Promise<Response>;
}

const TASK_PATH = "/api/tasks/";
const encoder = new TextEncoder();

/**
 * Makes the fast reads: a function that answers `request`, or returns
 * `undefined` at once when it is not one of the two reads (the caller then
 * hands it to the chain).
 *
 * @example
 * ```ts ignore
 * const fast = fastReads(deps);
 * Deno.serve((request) => fast(request) ?? app.fetch(request));
 * ```
 */
export function fastReads(
  deps: FastReadDeps,
): (request: Request) => Response | Promise<Response> | undefined {
  // `/health` changes once a second (its uptime): its bytes and tag are kept until it does.
  let health = { json: "", bytes: new Uint8Array(), etag: "" };
  return (request) => {
    if (request.method !== "GET") return undefined;
    const path = pathOf(request.url);
    if (path === undefined) return undefined;
    const headers = request.headers;
    if (
      headers.has("origin") || headers.has("content-length") || headers.has("transfer-encoding") ||
      deps.logger.enabled("debug")
    ) {
      return undefined;
    }
    if (path === "/health") {
      const started = performance.now();
      const json = JSON.stringify(deps.health());
      if (json !== health.json) {
        const bytes = encoder.encode(json);
        health = { json, bytes, etag: weakTag(bytes) };
      }
      return answer(deps, request, "/health", health.bytes, health.etag, started) ??
        deps.chain(request);
    }
    if (!path.startsWith(TASK_PATH)) return undefined;
    const id = path.slice(TASK_PATH.length);
    if (id === "" || id.length > 100 || id.includes("/")) return undefined;
    if (deps.token !== undefined) {
      const offered = bearerToken(headers.get("authorization") ?? undefined);
      if (offered === undefined || !timingSafeEqual(offered, deps.token)) return undefined;
    }
    return readTask(deps, request, decodeURIComponentOrNull(id));
  };
}

async function readTask(
  deps: FastReadDeps,
  request: Request,
  id: string | null,
): Promise<Response> {
  const started = performance.now();
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    const task = id === null ? undefined : await deps.getTask(id);
    if (task === undefined) return deps.chain(request);
    bytes = encoder.encode(JSON.stringify({ task: taskToJson(task) }));
  } catch {
    // The store failed (503) or the task cannot be written as JSON (500): the chain answers
    // those in its error shape, logs and counts them.
    return deps.chain(request);
  }
  return answer(deps, request, "/api/tasks/:id", bytes, undefined, started) ??
    deps.chain(request);
}

/**
 * The chain's answer of the JSON `bytes` (200, or 304) with their tag
 * (computed when not given), or `undefined` when the chain would compress it.
 */
function answer(
  deps: FastReadDeps,
  request: Request,
  route: string,
  bytes: Uint8Array<ArrayBuffer>,
  tag: string | undefined,
  started: number,
): Response | undefined {
  if (bytes.byteLength >= deps.compressThreshold) return undefined;
  const etag = tag ?? weakTag(bytes);
  const requestId = requestIdFor(request.headers.get("x-request-id") ?? undefined);
  let response: Response;
  if (noneMatch(request.headers.get("if-none-match") ?? undefined, etag)) {
    response = new Response(null, { status: 304, headers: { etag, "x-request-id": requestId } });
  } else {
    response = new Response(bytes, {
      status: 200,
      headers: {
        "content-type": "application/json",
        etag,
        "x-request-id": requestId,
        "content-length": String(bytes.byteLength),
      },
    });
  }
  deps.metrics.record("GET", route, response.status, performance.now() - started);
  return response;
}

/** The path of an absolute request URL without a query or fragment, else `undefined`. */
function pathOf(url: string): string | undefined {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return undefined;
  const path = url.slice(start);
  return path.includes("?") || path.includes("#") ? undefined : path;
}

function decodeURIComponentOrNull(text: string): string | null {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
