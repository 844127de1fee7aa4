/**
 * The original ThreadFlow's endpoints, kept for its clients:
 * `POST /submit`, `GET /tasks`, `GET /completed_tasks?since=`.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { assertToken } from "../middleware/auth.ts";
import type { AppEnv } from "../app_env.ts";
import type { ServiceEngine } from "../engine_port.ts";
import type { CompletionLog } from "../completion_log.ts";
import { HttpError } from "../errors.ts";
import { describeValue } from "../schemas.ts";

/** What the original endpoints need. */
export interface LegacyRouteDeps {
  engine: ServiceEngine;
  completions: CompletionLog;
  /** The API token, required on these endpoints too when set. */
  token: string | undefined;
}

/** How long the `sleep` task of a `POST /submit` runs, like the original's simulated work. */
export const LEGACY_SLEEP_MS = 100;

/**
 * Registers the original endpoints.
 *
 * @example
 * ```ts ignore
 * registerLegacyRoutes(app, { engine, completions: new CompletionLog(), token: undefined });
 * ```
 */
export function registerLegacyRoutes(app: Hono<AppEnv>, deps: LegacyRouteDeps): void {
  const { engine, completions } = deps;
  const auth = (c: Context) => {
    if (deps.token !== undefined) assertToken(c, deps.token);
  };

  app.post("/submit", async (c) => {
    auth(c);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new HttpError(400, "invalid_json", "The request body must be valid JSON.", "body");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(
        400,
        "validation_error",
        "The body must be an object like { data, priority }.",
        "body",
      );
    }
    const { data, priority } = body as Record<string, unknown>;
    if (
      priority !== undefined &&
      (typeof priority !== "number" || !Number.isInteger(priority) || priority < 1 ||
        priority > 10)
    ) {
      throw new HttpError(
        400,
        "validation_error",
        `Priority must be an integer from 1 to 10: received ${describeValue(priority)}.`,
        "priority",
      );
    }
    const task = await engine.submit({
      type: "sleep",
      payload: { ms: LEGACY_SLEEP_MS, data: data ?? null },
      priority: priority as number | undefined,
    });
    return c.json({ status: "success", task_id: task.id });
  });

  // GET /tasks is also the dashboard's task page: browsers asking for HTML fall through to it.
  app.get("/tasks", async (c, next) => {
    if (prefersHtml(c.req.header("accept"))) return await next();
    auth(c);
    const stats = await engine.stats();
    return c.json({ tasks: stats.counts.queued });
  });

  app.get("/completed_tasks", (c) => {
    auth(c);
    const raw = c.req.query("since") ?? "0";
    const since = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(since) || since < 0) {
      throw new HttpError(
        400,
        "validation_error",
        `since must be a Unix time in seconds: received ${describeValue(raw)}.`,
        "since",
      );
    }
    const tasks = completions.since(since * 1000).map((completion) => ({
      id: completion.id,
      completion_time: completion.finishedAt / 1000,
    }));
    return c.json({ tasks, server_time: Date.now() / 1000 });
  });
}

function prefersHtml(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes("text/html");
}
