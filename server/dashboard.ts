/**
 * The dashboard on the service's app: the history sampler and its API
 * route, and the pages, handed to the dashboard framework (`server/ui/`) with
 * the app's manifest of routes and islands (`dashboard.gen.ts`).
 *
 * @module
 */

import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Hono } from "hono";
import manifest from "../dashboard.gen.ts";
import { ThreadFlowError } from "../engine/mod.ts";
import type { AppEnv } from "./app_env.ts";
import type { DashboardEngine } from "./dashboard_state.ts";
import { type HistorySourceEngine, startHistory } from "./history.ts";
import { registerHistoryRoutes } from "./routes/history.ts";
import { registerUi, type UiOptions } from "./ui/mod.ts";

/** What {@linkcode registerDashboard} needs. */
export interface DashboardDeps {
  engine: DashboardEngine & HistorySourceEngine & { readonly state: string };
  /** `token`: when set, pages show data only to a browser that presents it. */
  config: { token?: string };
  logger?: { error(message: string, fields?: Record<string, unknown>): void };
}

/**
 * Starts the history sampler and mounts `GET /api/history` and the dashboard
 * pages on `app`.
 *
 * @example
 * ```ts ignore
 * registerDashboard(app, { engine, config, logger });
 * ```
 */
export function registerDashboard(
  app: OpenAPIHono<AppEnv>,
  deps: DashboardDeps,
  options: Pick<UiOptions<unknown>, "islandsDir" | "staticDir"> = {},
): void {
  const { history } = startHistory(deps.engine);
  registerHistoryRoutes(app, { history });
  registerUi(app as unknown as Hono, manifest, {
    ...options,
    state: { engine: deps.engine, history, authOff: !deps.config.token },
    token: deps.config.token,
    logger: deps.logger,
    isUnavailable: (error) =>
      error instanceof ThreadFlowError &&
      (error.code === "closed" || error.code === "store_unavailable"),
  });
}
