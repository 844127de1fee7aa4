/**
 * The requests answered before the Hono app's middleware chain (metrics,
 * request id, CORS, compression and ETag, 405, body limit, auth), which costs
 * several times the handler: the plain `POST /api/tasks` a producer sends
 * most (`fast_submit.ts`) and the two reads clients poll, `GET /health` and
 * `GET /api/tasks/:id` (`fast_reads.ts`).
 *
 * Each answers exactly as the chain would (tests compare both ways). What a
 * fast path would have to answer differently goes to the chain: here, a query
 * or fragment, an `Origin` (CORS), debug request logging, and a missing or
 * wrong token on `/api`; in each handler, what only it can tell.
 *
 * @module
 */

import type { SubmitInput, Task } from "../engine/mod.ts";
import type { EndedAnswers } from "./ended_answers.ts";
import type { Logger } from "./logger.ts";
import type { HttpMetrics } from "./metrics.ts";
import { hasToken } from "./middleware/auth.ts";
import type { ContentCoding } from "./middleware/compression.ts";
import { readHealth, readTask } from "./fast_reads.ts";
import { submitTask } from "./fast_submit.ts";

/** What the fast paths need from the service. */
export interface FastPathDeps {
  metrics: HttpMetrics;
  logger: Logger;
  /** Bearer token `/api` requires, or `undefined`. */
  token: string | undefined;
  /** Largest request body, bytes (`--max-body`). */
  maxBody: number;
  /** Smallest answer the chain compresses, and the codings it offers. */
  compressThreshold: number;
  codings: readonly ContentCoding[];
  /** `/health`'s body. */
  health(): unknown;
  /** The task with this id, or `undefined`. */
  getTask(id: string): Promise<Task | undefined>;
  submit(input: SubmitInput): Promise<Task>;
  /** Ended tasks' answers, kept for reads (a local store's engine only). */
  endedAnswers?: EndedAnswers;
  /** The whole chain, for every request the fast paths do not answer. */
  chain(request: Request): Response | Promise<Response>;
}

const TASK_PATH = "/api/tasks/";

/**
 * Makes the fast paths: a function that answers `request`, or returns
 * `undefined` at once when it is none of them (the caller then hands it to
 * the chain).
 *
 * @example
 * ```ts ignore
 * const fast = fastPaths(deps);
 * Deno.serve((request) => fast(request) ?? app.fetch(request));
 * ```
 */
export function fastPaths(
  deps: FastPathDeps,
): (request: Request) => Response | Promise<Response> | undefined {
  const health = readHealth(deps);
  return (request) => {
    const method = request.method;
    if (method !== "GET" && method !== "POST") return undefined;
    const path = pathOf(request.url);
    if (path === undefined || request.headers.has("origin") || deps.logger.enabled("debug")) {
      return undefined;
    }
    if (method === "GET" && path === "/health") return health(request);
    if (!path.startsWith("/api/tasks")) return undefined;
    const authorized = deps.token === undefined ||
      hasToken(request.headers.get("authorization") ?? undefined, deps.token);
    if (!authorized) return undefined;
    if (method === "POST") return path === "/api/tasks" ? submitTask(deps, request) : undefined;
    if (!path.startsWith(TASK_PATH)) return undefined;
    return readTask(deps, request, path.slice(TASK_PATH.length));
  };
}

/** The path of an absolute request URL without a query or fragment, else `undefined`. */
function pathOf(url: string): string | undefined {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return undefined;
  const path = url.slice(start);
  return path.includes("?") || path.includes("#") ? undefined : path;
}
