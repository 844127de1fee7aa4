/**
 * The OpenAPI document: the answers every operation shares (errors, 304,
 * 405), the security scheme, and the document served at
 * `/api/openapi.json`, generated from the route definitions.
 *
 * @module
 */

import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./app_env.ts";
import { ErrorSchema, PlainErrorSchema } from "./schemas.ts";

/** Name of the bearer-token security scheme in `components.securitySchemes`. */
export const BEARER_AUTH = "bearerAuth";

/** `security` of an operation open to everyone, token or not (`/health`, `/ready`, `/metrics`). */
export const NO_SECURITY: Record<string, string[]>[] = [];

/** What each error status means, for every operation that may answer it. */
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input; the message (and `field`) name it.",
  401: "Missing or wrong API token (the service runs with --token).",
  404: "No task, task type or schedule has that id or name.",
  405: "This path does not take the method used; `Allow` lists the methods it takes.",
  408: "The wait timed out; the answer carries the task as it stands.",
  409: "The task is not in a status that allows this, or the schedule's name is taken.",
  413: "Body or payload too large.",
  415: "The body is not of a media type this operation takes.",
  429: "The queue is full; try again after Retry-After seconds.",
  503: "Starting, shutting down, or the task store is unreachable.",
};

const ERROR_HEADERS: Record<number, Record<string, unknown>> = {
  401: {
    "WWW-Authenticate": {
      description: 'The challenge: `Bearer realm="threadflow"`.',
      schema: { type: "string" },
    },
  },
  405: {
    Allow: { description: "The methods this path takes.", schema: { type: "string" } },
  },
  429: {
    "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } },
  },
};

/** An error answer in the document, with the schema of its body. */
export interface ErrorResponseSpec<Schema> {
  description: string;
  headers?: Record<string, unknown>;
  content: { "application/json": { schema: Schema } };
}

function buildErrorResponses<S extends number, Schema>(
  statuses: readonly S[],
  schema: Schema,
): Record<S, ErrorResponseSpec<Schema>> {
  const responses = {} as Record<S, ErrorResponseSpec<Schema>>;
  for (const status of statuses) {
    const description = ERROR_DESCRIPTIONS[status];
    if (description === undefined) throw new Error(`No description for status ${status}.`);
    const response: ErrorResponseSpec<Schema> = {
      description,
      content: { "application/json": { schema } },
    };
    if (ERROR_HEADERS[status] !== undefined) response.headers = ERROR_HEADERS[status];
    responses[status] = response;
  }
  return responses;
}

/**
 * The error answers of an operation, by status, in the API's shape
 * `{ error: { code, message, field? } }`.
 *
 * @example
 * ```ts ignore
 * const responses = { 200: ok, ...errorResponses([400, 401, 405]) };
 * ```
 */
export function errorResponses<S extends number>(
  statuses: readonly S[],
): Record<S, ErrorResponseSpec<typeof ErrorSchema>> {
  return buildErrorResponses(statuses, ErrorSchema);
}

/**
 * The error answers of one of the original endpoints, in their shape
 * `{ error: "<message>" }`.
 *
 * @example
 * ```ts ignore
 * const responses = { 200: ok, ...plainErrorResponses([400, 405]) };
 * ```
 */
export function plainErrorResponses<S extends number>(
  statuses: readonly S[],
): Record<S, ErrorResponseSpec<typeof PlainErrorSchema>> {
  return buildErrorResponses(statuses, PlainErrorSchema);
}

/**
 * The 304 answer of a `GET`: the weak `ETag` of the answer matched
 * `If-None-Match` (or it was `*`).
 */
export const NOT_MODIFIED: { 304: { description: string } } = {
  304: { description: "Not modified: the ETag matches If-None-Match; no body." },
};

/** Options of {@linkcode registerOpenApiDocument}. */
export interface OpenApiDocumentOptions {
  /** The service's version (deno.json). */
  version: string;
}

/**
 * Serves the OpenAPI 3.0 document at `GET /api/openapi.json`, generated once
 * from the routes registered on `app` with their schemas. `servers` names the
 * origin the document was fetched from, so generated clients call this service.
 *
 * @example
 * ```ts ignore
 * registerOpenApiDocument(app, { version: "0.1.0" });
 * ```
 */
export function registerOpenApiDocument(
  app: OpenAPIHono<AppEnv>,
  options: OpenApiDocumentOptions,
): void {
  app.openAPIRegistry.registerComponent("securitySchemes", BEARER_AUTH, {
    type: "http",
    scheme: "bearer",
    description: "The API token, when the service runs with --token (THREADFLOW_TOKEN); " +
      "without one, no token is needed.",
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/api/openapi.json",
    operationId: "getOpenApiDocument",
    tags: ["service"],
    summary: "This OpenAPI document",
    responses: {
      200: {
        description: "The OpenAPI 3.0 document, generated from the route schemas.",
        content: { "application/json": { schema: { type: "object" } } },
      },
      ...NOT_MODIFIED,
      ...errorResponses([401, 405]),
    },
  });
  let document: Record<string, unknown> | undefined;
  app.get("/api/openapi.json", (c) => {
    document ??= tidyNullable(app.getOpenAPIDocument({
      openapi: "3.0.3",
      info: {
        title: "ThreadFlow",
        version: options.version,
        description: "Task-processing service for Deno. Errors are " +
          "`{ error: { code, message, field? } }`; the original ThreadFlow's endpoints " +
          '(tag `original`) answer `{ error: "<message>" }`. With --token, send ' +
          "`Authorization: Bearer <token>`. GET answers carry a weak ETag; bodies of 1 KiB or " +
          "more are compressed (br, gzip) when the client accepts it.",
      },
      tags: [
        {
          name: "tasks",
          description: "Submit, list, wait for, cancel and retry tasks; tasks that depend on " +
            "others (dependsOn).",
        },
        {
          name: "task types",
          description: "Task types and their controls: pause, resume, concurrency and rate limits.",
        },
        {
          name: "schedules",
          description: "Tasks submitted on a cron pattern or an interval, once per tick " +
            "across the cluster.",
        },
        { name: "service", description: "Statistics, workers, health, readiness, metrics." },
        {
          name: "original",
          description: "The original ThreadFlow's endpoints, kept as they were.",
        },
      ],
      // A token is needed only when the service runs with one: bearer, or nothing.
      security: [{ [BEARER_AUTH]: [] }, {}],
    }) as unknown as Record<string, unknown>);
    const origin = new URL(c.req.url).origin;
    return c.json({
      ...document,
      servers: [{ url: origin, description: "This ThreadFlow service." }],
    });
  });
}

/**
 * Drops `nullable` where a schema has no `type`: OpenAPI 3.0 ignores it there
 * (a schema without `type` already takes `null`), and linters refuse it. The
 * generator writes it for `z.unknown()` (payloads and results: any JSON value).
 */
function tidyNullable<T>(value: T): T {
  if (Array.isArray(value)) return value.map(tidyNullable) as T;
  if (typeof value !== "object" || value === null) return value;
  const tidied: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  const typeless = record.nullable === true && !("type" in record) && !("$ref" in record);
  for (const [key, child] of Object.entries(record)) {
    if (key === "nullable" && typeless) continue;
    tidied[key] = tidyNullable(child);
  }
  return tidied as T;
}
