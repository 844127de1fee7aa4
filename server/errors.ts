/**
 * Maps anything thrown while serving a request to one answer shape:
 * `{ "error": { "code", "message", "field"? } }` with a fitting status.
 *
 * @module
 */

import { HTTPException } from "hono/http-exception";
import { QueueFullError, ThreadFlowError } from "../engine/mod.ts";

/** The body of every error answer. */
export interface ErrorBody {
  error: ErrorDetail;
}

/** What went wrong: a stable code, a sentence, and the input field at fault. */
export interface ErrorDetail {
  code: string;
  message: string;
  field?: string;
}

/** An error answer: status, body and extra headers. */
export interface ErrorAnswer {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

/**
 * An error raised by the HTTP layer itself (bad token, bad query, body too large).
 *
 * @example
 * ```ts
 * import { HttpError } from "./errors.ts";
 * const error = new HttpError(400, "validation_error", "limit must be 1 to 1000.", "limit");
 * console.log(error.status); // 400
 * ```
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/**
 * A known path was asked with a method it does not take (405); `allow` lists
 * the methods it takes, sent in the `Allow` header.
 *
 * @example
 * ```ts
 * import { MethodNotAllowedError } from "./errors.ts";
 * const error = new MethodNotAllowedError("GET", "/api/tasks/batch", ["POST", "OPTIONS"]);
 * console.log(error.message); // "GET is not allowed on /api/tasks/batch: it takes POST, OPTIONS."
 * ```
 */
export class MethodNotAllowedError extends HttpError {
  readonly allow: readonly string[];
  constructor(method: string, path: string, allow: readonly string[]) {
    super(
      405,
      "method_not_allowed",
      `${method} is not allowed on ${path}: it takes ${allow.join(", ")}.`,
      "method",
    );
    this.name = "MethodNotAllowedError";
    this.allow = allow;
  }
}

/** The error body of the original ThreadFlow's endpoints: the message alone. */
export interface PlainErrorBody {
  error: string;
}

/**
 * The original ThreadFlow's error shape, `{ "error": "<message>" }`, for its
 * endpoints: its clients print `data.error`.
 *
 * @example
 * ```ts
 * import { errorBody, plainErrorBody } from "./errors.ts";
 * plainErrorBody(errorBody("not_found", "No route matches GET /x.")); // { error: "No route matches GET /x." }
 * ```
 */
export function plainErrorBody(body: ErrorBody): PlainErrorBody {
  return { error: body.error.message };
}

const STATUS_BY_CODE: Record<string, number> = {
  validation_error: 400,
  unknown_task_type: 400,
  invalid_option: 400,
  payload_too_large: 413,
  queue_full: 429,
  task_not_found: 404,
  task_conflict: 409,
  schedule_not_found: 404,
  schedule_exists: 409,
  closed: 503,
  store_unavailable: 503,
};

/**
 * Builds an error body.
 *
 * @example
 * ```ts
 * import { errorBody } from "./errors.ts";
 * errorBody("not_found", "No route matches GET /x.", "path");
 * ```
 */
export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return field === undefined ? { error: { code, message } } : { error: { code, message, field } };
}

/**
 * Turns a thrown value into an answer. Unknown errors become a 500 whose
 * message does not leak internals.
 *
 * @example
 * ```ts
 * import { errorAnswer } from "./errors.ts";
 * import { TaskNotFoundError } from "../engine/mod.ts";
 * errorAnswer(new TaskNotFoundError("x")).status; // 404
 * ```
 */
export function errorAnswer(error: unknown): ErrorAnswer {
  if (error instanceof ThreadFlowError) {
    const headers: Record<string, string> = {};
    if (error instanceof QueueFullError) {
      headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
    }
    return {
      status: STATUS_BY_CODE[error.code] ?? 500,
      body: errorBody(error.code, error.message, error.field),
      headers,
    };
  }
  if (error instanceof HttpError) {
    return {
      status: error.status,
      body: errorBody(error.code, error.message, error.field),
      headers: error instanceof MethodNotAllowedError ? { allow: error.allow.join(", ") } : {},
    };
  }
  if (error instanceof HTTPException) {
    return httpExceptionAnswer(error);
  }
  return {
    status: 500,
    body: errorBody("internal_error", "The server failed to handle the request; see its log."),
    headers: {},
  };
}

function httpExceptionAnswer(error: HTTPException): ErrorAnswer {
  const status = error.status;
  if (status === 400 && /malformed json/i.test(error.message)) {
    return {
      status,
      body: errorBody("invalid_json", "The request body must be valid JSON.", "body"),
      headers: {},
    };
  }
  if (status === 415) {
    return {
      status,
      body: errorBody(
        "unsupported_media_type",
        "The request body must be sent as application/json (or application/octet-stream for " +
          "a byte payload).",
        "content-type",
      ),
      headers: {},
    };
  }
  if (status === 413) {
    return { status, body: errorBody("payload_too_large", error.message), headers: {} };
  }
  return { status, body: errorBody(codeForStatus(status), error.message), headers: {} };
}

function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    default:
      return status >= 500 ? "internal_error" : "http_error";
  }
}
