/**
 * `POST /api/tasks` of a plain JSON task as the fast paths (`fast_paths.ts`)
 * answer it: the chain's 201 with the task, `Location`, `X-Request-Id`,
 * compression of a large answer, the engine's refusals (429 with
 * `Retry-After`, 503 while draining, 400 naming the field) in the same JSON
 * error shape, the same request counter and duration in `/metrics`. A
 * request it cannot answer the same way goes to the chain untouched (no
 * `Content-Length`, a body over the limit, a byte payload) or with its body
 * as read (not JSON, a body that broke off, not the plain shape the quick
 * check accepts, an idempotency key).
 *
 * @module
 */

import type { SubmitInput } from "../engine/mod.ts";
import { errorAnswer } from "./errors.ts";
import type { FastPathDeps } from "./fast_paths.ts";
import { encode, negotiateCoding, sendsChunked } from "./middleware/compression.ts";
import { requestIdFor } from "./middleware/request_id.ts";
import { JSON_MEDIA_TYPE } from "./routes/tasks.ts";
import { taskToJson } from "./task_json.ts";
import { isPlainSubmitInput } from "./task_schemas.ts";

/** What the submit uses of the fast paths' needs. */
type SubmitDeps = Pick<
  FastPathDeps,
  "metrics" | "logger" | "maxBody" | "compressThreshold" | "codings" | "submit" | "chain"
>;

const ROUTE = "/api/tasks";
const encoder = new TextEncoder();

/**
 * Answers `POST /api/tasks`, or returns `undefined` at once when its body is
 * not one it can take as it stands (the caller then hands it to the chain).
 */
export function submitTask(deps: SubmitDeps, request: Request): Promise<Response> | undefined {
  const headers = request.headers;
  const length = Number(headers.get("content-length") ?? NaN);
  const type = headers.get("content-type") ?? "";
  if (
    !(length >= 0 && length <= deps.maxBody) || headers.has("transfer-encoding") ||
    !JSON_MEDIA_TYPE.test(type) ||
    // The route reads these as bytes whatever follows (`application/octet-stream+json`).
    type.startsWith("application/octet-stream")
  ) {
    return undefined;
  }
  return submit(deps, request);
}

async function submit(deps: SubmitDeps, request: Request): Promise<Response> {
  const started = performance.now();
  let text: string;
  try {
    text = await request.text();
  } catch {
    // The body broke off (the client went away): what the chain's JSON read answers.
    text = "";
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return deps.chain(again(request, text));
  }
  if (!isPlainSubmitInput(body) || (body as SubmitInput).idempotencyKey !== undefined) {
    return deps.chain(again(request, text));
  }
  const requestId = requestIdFor(request.headers.get("x-request-id") ?? undefined);
  let response: Response;
  try {
    const task = await deps.submit(body as SubmitInput);
    response = await json(deps, request, 201, { task: taskToJson(task) }, {
      location: `/api/tasks/${task.id}`,
      "x-request-id": requestId,
    });
  } catch (error) {
    // The engine's refusals, and anything unexpected, as the chain's onError answers them.
    const answer = errorAnswer(error);
    if (answer.status >= 500 && answer.body.error.code === "internal_error") {
      deps.logger.error("Request failed", {
        requestId,
        method: "POST",
        path: ROUTE,
        error,
        stack: error instanceof Error ? error.stack : undefined,
      });
    }
    response = await json(deps, request, answer.status, answer.body, {
      ...answer.headers,
      "x-request-id": requestId,
    });
  }
  deps.metrics.record("POST", ROUTE, response.status, performance.now() - started);
  return response;
}

/** The request again, its body the text already read. */
function again(request: Request, text: string): Request {
  return new Request(request.url, { method: "POST", headers: request.headers, body: text });
}

/** UTF-16 units outside ASCII: a text without them is its own UTF-8, one byte per unit. */
const NON_ASCII = /[\u0080-\uffff]/;

/** A JSON answer as the chain's compression middleware would finish it. */
function json(
  deps: SubmitDeps,
  request: Request,
  status: number,
  value: unknown,
  extra: Record<string, string>,
): Response | Promise<Response> {
  const text = JSON.stringify(value);
  const headers: Record<string, string> = { "content-type": "application/json", ...extra };
  // Measured without making the bytes when the text is ASCII (a third of the cost).
  const size = NON_ASCII.test(text) ? encoder.encode(text).byteLength : text.length;
  if (size < deps.compressThreshold) {
    if (sendsChunked(size)) headers["transfer-encoding"] = "chunked";
    // The same bytes, but Deno sends a string body for several microseconds less than an array.
    return new Response(text, { status, headers });
  }
  return compressed(deps, request, status, encoder.encode(text), text, headers);
}

/** An answer at or over the threshold: encoded when the client takes a coding. */
async function compressed(
  deps: SubmitDeps,
  request: Request,
  status: number,
  bytes: Uint8Array,
  text: string,
  headers: Record<string, string>,
): Promise<Response> {
  headers.vary = "Accept-Encoding";
  const coding = negotiateCoding(request.headers.get("accept-encoding") ?? undefined, deps.codings);
  if (coding === undefined) {
    if (sendsChunked(bytes.byteLength)) headers["transfer-encoding"] = "chunked";
    return new Response(text, { status, headers });
  }
  const encoded = await encode(bytes, coding);
  headers["content-encoding"] = coding;
  if (sendsChunked(encoded.byteLength)) headers["transfer-encoding"] = "chunked";
  return new Response(encoded as Uint8Array<ArrayBuffer>, { status, headers });
}
