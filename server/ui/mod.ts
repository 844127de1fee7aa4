/**
 * The dashboard: server-rendered pages with Preact islands, mounted on the
 * service's Hono app. (Stub while the renderer is being written.)
 *
 * @module
 */

import type { Hono } from "hono";

/** What the dashboard needs from the engine (a `ThreadFlow` satisfies it). */
export interface UiEngine {
  readonly nodeId: string;
}

/** Dependencies of {@linkcode registerUi}. */
export interface UiDeps {
  engine: UiEngine;
  config: { token?: string };
}

/**
 * Mounts the dashboard (`/`, `/tasks`, `/tasks/:id`, `/static/*`, `/islands/*`) on `app`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { registerUi } from "./server/ui/mod.ts";
 * const app = new Hono();
 * registerUi(app, { engine: tf, config: {} });
 * ```
 */
export function registerUi(app: Hono, deps: UiDeps): void {
  app.get(
    "/",
    (c) => c.html(`<!doctype html><title>ThreadFlow</title><p>Node ${deps.engine.nodeId}</p>`),
  );
}
