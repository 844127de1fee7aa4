/**
 * The two reads clients poll, `GET /health` and `GET /api/tasks/:id`, as the
 * fast paths (`fast_paths.ts`) answer them: the chain's answer byte for byte
 * (the same body, `ETag`, `X-Request-Id` and 304 on a matching
 * `If-None-Match`, the same request counter and duration in `/metrics`). A
 * request body (the body limit), an answer large enough to compress, an
 * unknown task or a failed read go to the chain.
 *
 * @module
 */

import type { Task } from "../engine/mod.ts";
import type { JsonAnswer } from "./ended_answers.ts";
import type { FastPathDeps } from "./fast_paths.ts";
import { noneMatch, sendsChunked, weakTag } from "./middleware/compression.ts";
import { requestIdFor } from "./middleware/request_id.ts";
import { taskToJson } from "./task_json.ts";

/** What the reads use of the fast paths' needs. */
type ReadDeps = Pick<
  FastPathDeps,
  "metrics" | "compressThreshold" | "health" | "getTask" | "chain" | "endedAnswers"
>;

const TASK_ROUTE = "/api/tasks/:id";

const encoder = new TextEncoder();

/**
 * Makes the `GET /health` answerer. `/health` changes once a second (its
 * uptime): its bytes and tag are kept until it does.
 */
export function readHealth(deps: ReadDeps): (request: Request) => Response | Promise<Response> {
  let health = { json: "", bytes: new Uint8Array(), etag: "" };
  return (request) => {
    if (hasBody(request)) return deps.chain(request);
    const started = performance.now();
    const json = JSON.stringify(deps.health());
    if (json !== health.json) {
      const bytes = encoder.encode(json);
      health = { json, bytes, etag: weakTag(bytes) };
    }
    return answer(deps, request, "/health", health, started) ?? deps.chain(request);
  };
}

/**
 * Answers `GET /api/tasks/<rawId>` (the id as it stands in the path): at once
 * when the answer of an ended task is kept, else after reading the task.
 */
export function readTask(
  deps: ReadDeps,
  request: Request,
  rawId: string,
): Response | Promise<Response> | undefined {
  if (rawId === "" || rawId.length > 100 || rawId.includes("/") || hasBody(request)) {
    return undefined;
  }
  const id = decodeURIComponentOrNull(rawId);
  if (id !== null && deps.endedAnswers !== undefined) {
    const started = performance.now();
    const kept = deps.endedAnswers.get(id, Date.now());
    if (kept !== undefined) return answer(deps, request, TASK_ROUTE, kept, started);
  }
  return readStoredTask(deps, request, id);
}

/** Whether a request says it has a body (the chain's body limit would see it). */
function hasBody(request: Request): boolean {
  return request.headers.has("content-length") || request.headers.has("transfer-encoding");
}

async function readStoredTask(
  deps: ReadDeps,
  request: Request,
  id: string | null,
): Promise<Response> {
  const started = performance.now();
  const events = deps.endedAnswers?.events ?? 0;
  let task: Task | undefined;
  let json: string;
  try {
    task = id === null ? undefined : await deps.getTask(id);
    if (task === undefined) return deps.chain(request);
    json = JSON.stringify({ task: taskToJson(task) });
  } catch {
    // The store failed (503) or the task cannot be written as JSON (500): the chain answers
    // those in its error shape, logs and counts them.
    return deps.chain(request);
  }
  const body: JsonAnswer = { json, bytes: encoder.encode(json) };
  if (body.bytes.byteLength >= deps.compressThreshold) return deps.chain(request);
  // Tagged now, so a kept answer carries its tag.
  body.etag = weakTag(body.bytes);
  deps.endedAnswers?.keep(task, body, Date.now(), events);
  return answer(deps, request, TASK_ROUTE, body, started)!;
}

/**
 * The chain's answer of `body` (200, or 304), or `undefined` when the chain
 * would compress it.
 */
function answer(
  deps: ReadDeps,
  request: Request,
  route: string,
  body: JsonAnswer,
  started: number,
): Response | undefined {
  if (body.bytes.byteLength >= deps.compressThreshold) return undefined;
  // Hashed only now: an answer the chain compresses gets its tag there.
  const etag = body.etag ?? weakTag(body.bytes);
  const requestId = requestIdFor(request.headers.get("x-request-id") ?? undefined);
  let response: Response;
  if (noneMatch(request.headers.get("if-none-match") ?? undefined, etag)) {
    response = new Response(null, { status: 304, headers: { etag, "x-request-id": requestId } });
  } else {
    // The text, not its bytes: Deno sends a string body for several microseconds less.
    const headers: Record<string, string> = {
      "content-type": "application/json",
      etag,
      "x-request-id": requestId,
    };
    if (sendsChunked(body.bytes.byteLength)) headers["transfer-encoding"] = "chunked";
    response = new Response(body.json, { status: 200, headers });
  }
  deps.metrics.record("GET", route, response.status, performance.now() - started);
  return response;
}

function decodeURIComponentOrNull(text: string): string | null {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
