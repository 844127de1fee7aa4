/**
 * The service's Hono app, built by a factory from its dependencies so tests
 * build one on an ephemeral port and `main.ts` only wires parts together.
 *
 * @module
 */

import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import denoJson from "../deno.json" with { type: "json" };
import type { AppEnv } from "./app_env.ts";
import type { ServiceConfig } from "./config.ts";
import type { ServiceEngine } from "./engine_port.ts";
import {
  type ErrorAnswer,
  errorAnswer,
  HttpError,
  MethodNotAllowedError,
  plainErrorBody,
} from "./errors.ts";
import type { Logger } from "./logger.ts";
import { HttpMetrics, TaskCounters } from "./metrics.ts";
import { CompletionLog } from "./completion_log.ts";
import { EndedAnswers } from "./ended_answers.ts";
import { fastPaths } from "./fast_paths.ts";
import { bodyLimit } from "./middleware/body_limit.ts";
import { availableCodings, compression, DEFAULT_THRESHOLD } from "./middleware/compression.ts";
import { cors } from "./middleware/cors.ts";
import { requestId } from "./middleware/request_id.ts";
import { requestMetrics } from "./middleware/request_metrics.ts";
import { tokenAuth } from "./middleware/auth.ts";
import { wwwAuthenticate } from "./middleware/www_authenticate.ts";
import { registerOpenApiDocument } from "./openapi.ts";
import { registerTaskRoutes } from "./routes/tasks.ts";
import { registerTaskTypeRoutes } from "./routes/task_types.ts";
import { registerScheduleRoutes } from "./routes/schedules.ts";
import { healthBody, registerApiSystemRoutes, registerRootSystemRoutes } from "./routes/system.ts";
import {
  COMPLETED_MAX_LIMIT,
  LEGACY_PATHS,
  OPEN_CORS_PATHS,
  registerLegacyRoutes,
} from "./routes/legacy.ts";
import { validationError } from "./validation.ts";
import { WebSocketHub, type WebSocketHubOptions } from "./ws.ts";
import { registerDashboard } from "./dashboard.ts";

/** What {@linkcode createApp} is built from. */
export interface AppDeps {
  engine: ServiceEngine;
  config: ServiceConfig;
  logger: Logger;
  /**
   * The port the server listens on, for `/health`'s `http_port` (with
   * `--port 0` only the server knows it). Default: `config.port`.
   */
  httpPort?: () => number;
}

/** Tuning for tests and benchmarks; the defaults suit production. */
export interface AppOptions {
  /** WebSocket limits (ring size, slow-consumer limits, malformed budget). */
  webSocket?: Omit<WebSocketHubOptions, "token" | "version">;
}

/** The built service: the Hono app and the handles `main.ts` needs to stop it. */
export interface ThreadFlowApp {
  /** The Hono app: every route, behind the whole middleware chain. */
  app: OpenAPIHono<AppEnv>;
  /** Serves one request (for `Deno.serve`): the polled reads directly, the rest through `app`. */
  fetch(request: Request): Response | Promise<Response>;
  /** The WebSocket endpoint's hub. */
  hub: WebSocketHub;
  /** HTTP request counters. */
  metrics: HttpMetrics;
  /** Tasks submitted and finished, by type and status. */
  taskCounters: TaskCounters;
  /** Whether {@linkcode ThreadFlowApp.drain} was called. */
  readonly draining: boolean;
  /** Starts shutting down: `/ready` answers 503 and long polls end. */
  drain(): void;
  /** Closes every WebSocket with `code` (1001 on shutdown) and stops listening to the engine. */
  closeWebSockets(code?: number, reason?: string): void;
}

/**
 * The version this build reports (from deno.json).
 *
 * @example
 * ```ts
 * import { VERSION } from "./app.ts";
 * console.log(`ThreadFlow ${VERSION}`);
 * ```
 */
export const VERSION: string = denoJson.version;

/**
 * Builds the service. Routes: `/api/*` (token-protected when a token is
 * set), `/ws`, `/health`, `/ready`, `/metrics`, the original ThreadFlow
 * endpoints, and the dashboard from `server/ui/`.
 *
 * @example
 * ```ts ignore
 * import { ThreadFlow } from "../mod.ts";
 * import { createApp } from "./app.ts";
 * import { parseConfig } from "./config.ts";
 * import { createLogger } from "./logger.ts";
 * const engine = await ThreadFlow.start({ workers: 2 });
 * const parsed = parseConfig(["--port", "0"], {});
 * if (parsed.help) throw new Error("unreachable");
 * const service = createApp({ engine, config: parsed.config, logger: createLogger() });
 * const server = Deno.serve({ port: 0 }, service.fetch);
 * ```
 */
export function createApp(deps: AppDeps, options: AppOptions = {}): ThreadFlowApp {
  const { engine, config, logger } = deps;
  const startedAt = Date.now();
  const metrics = new HttpMetrics();
  const taskCounters = new TaskCounters(engine.taskTypes().map((type) => type.name), {
    nodeId: engine.nodeId,
    relayed: () => engine.relaying,
  });
  // An answer walks at most its limit from the newest entry: older entries are never read.
  const completions = new CompletionLog(COMPLETED_MAX_LIMIT);
  const shutdown = new AbortController();
  const hub = new WebSocketHub(engine, logger, {
    ...options.webSocket,
    token: config.token,
    allowedOrigins: config.corsOrigins,
    version: VERSION,
    maxMessageBytes: options.webSocket?.maxMessageBytes ?? config.maxBody,
  });
  // On a shared store another node may retry a task; its event would come late.
  const endedAnswers = engine.store.kind === "local" ? new EndedAnswers() : undefined;
  const stopEvents = engine.on((event) => {
    completions.observe(event);
    taskCounters.observe(event);
    endedAnswers?.observe(event);
  });
  // Retention deletes without an event: a deleted task must not answer from a kept answer.
  const stopPruned = endedAnswers === undefined
    ? undefined
    : engine.onPruned(() => endedAnswers.forgetAll());

  const defaultHook = (
    result: { success: boolean; error?: unknown; target?: string },
  ): void => {
    if (!result.success) {
      throw validationError(result.error as Parameters<typeof validationError>[0], result.target);
    }
  };
  const app = new OpenAPIHono<AppEnv>({ defaultHook });
  const api = new OpenAPIHono<AppEnv>({ defaultHook });

  /** An error answer, in the original's shape on its endpoints. */
  const answerError = (c: Context<AppEnv>, answer: ErrorAnswer) => {
    const body = LEGACY_PATHS.has(c.req.path) ? plainErrorBody(answer.body) : answer.body;
    return c.json(body, answer.status as 400, answer.headers);
  };

  app.use(requestMetrics(metrics, logger));
  app.use(requestId());
  app.use(cors(config.corsOrigins, { openPaths: OPEN_CORS_PATHS }));
  app.use(wwwAuthenticate());
  app.use(compression({ etag: true }));
  app.use(methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) => {
      const allow = [...methods, "OPTIONS"];
      // OPTIONS asks which methods a path takes (RFC 9110 9.3.7); CORS preflights came earlier.
      if (c.req.method === "OPTIONS") {
        return new Response(null, { status: 204, headers: { allow: allow.join(", ") } });
      }
      return answerError(
        c as Context<AppEnv>,
        errorAnswer(new MethodNotAllowedError(c.req.method, c.req.path, allow)),
      );
    },
  }));
  app.use(bodyLimit(config.maxBody));
  if (config.token !== undefined) app.use("/api/*", tokenAuth(config.token));

  const systemDeps = {
    engine,
    metrics,
    taskCounters,
    webSocketFigures: () => hub.figures(),
    isReady: () => !shutdown.signal.aborted,
    httpPort: deps.httpPort ?? (() => config.port),
    version: VERSION,
    startedAt,
  };
  registerTaskRoutes(api, { engine, shutdownSignal: shutdown.signal });
  registerApiSystemRoutes(api, systemDeps);
  registerTaskTypeRoutes(api, { engine });
  registerScheduleRoutes(api, { engine });
  app.route("/api", api);
  registerRootSystemRoutes(app, systemDeps);
  app.get("/ws", (c) => hub.upgrade(c.req.raw));
  registerLegacyRoutes(app, { engine, completions, token: config.token });
  registerOpenApiDocument(app, { version: VERSION });
  registerDashboard(app, { engine, config, logger });

  app.notFound((c) =>
    answerError(
      c,
      errorAnswer(
        new HttpError(404, "not_found", `No route matches ${c.req.method} ${c.req.path}.`, "path"),
      ),
    )
  );
  app.onError((error, c) => {
    const answer = errorAnswer(error);
    if (answer.status >= 500 && answer.body.error.code === "internal_error") {
      logger.error("Request failed", {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        error,
        stack: error instanceof Error ? error.stack : undefined,
      });
    }
    return answerError(c, answer);
  });

  const fast = fastPaths({
    metrics,
    logger,
    token: config.token,
    maxBody: config.maxBody,
    compressThreshold: DEFAULT_THRESHOLD,
    codings: availableCodings(),
    health: () => healthBody(systemDeps),
    getTask: (id) => engine.get(id),
    submit: (input) => engine.submit(input),
    endedAnswers,
    chain: (request) => app.fetch(request),
  });

  return {
    app,
    fetch: (request) => fast(request) ?? app.fetch(request),
    hub,
    metrics,
    taskCounters,
    get draining() {
      return shutdown.signal.aborted;
    },
    drain() {
      shutdown.abort();
    },
    closeWebSockets(code = 1001, reason = "ThreadFlow is shutting down.") {
      stopEvents();
      stopPruned?.();
      hub.close(code, reason);
    },
  };
}
