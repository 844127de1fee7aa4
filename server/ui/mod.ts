/**
 * The dashboard: pages in `routes/` rendered on the server with Preact, made
 * live by the islands in `islands/`, mounted on the service's Hono app.
 *
 * @module
 */

import { h } from "preact";
import type { Context, Hono, Next } from "hono";
import * as overviewRoute from "../../routes/index.tsx";
import * as tasksRoute from "../../routes/tasks/index.tsx";
import * as taskRoute from "../../routes/tasks/[id].tsx";
import {
  DEFAULT_ISLANDS_DIR,
  DEFAULT_STATIC_DIR,
  IMMUTABLE,
  type IslandManifest,
  isSafeName,
  type LoadedFile,
  loadStaticFiles,
  readIslandManifest,
} from "./assets.ts";
import { renderDocument } from "./render.ts";
import { ThreadFlowError } from "../../engine/mod.ts";
import type { RouteModule, UiEngine } from "./types.ts";

export type { UiEngine } from "./types.ts";

/** Dependencies of {@linkcode registerUi}. */
export interface UiDeps {
  /** The engine whose state the pages show; a `ThreadFlow`. */
  engine: UiEngine;
  /** `token`: when set, pages show data only to a browser that presents it. */
  config: { token?: string };
  /** Where a page that failed to render is reported; default `console`. */
  logger?: { error(message: string, fields?: Record<string, unknown>): void };
}

/** Options of {@linkcode registerUi}, for tests; both default to the folders in the repository. */
export interface UiOptions {
  /** Folder of the built island bundles; default `dist/islands/`. */
  islandsDir?: URL;
  /** Folder of the static files; default `static/`. */
  staticDir?: URL;
}

/** Cookie the dashboard sets when the user enters the token (see `islands/_client/api.ts`). */
const TOKEN_COOKIE = "tf_token";

/** The routes in `routes/`, by file, with the URL pattern the file name gives. */
// deno-lint-ignore no-explicit-any
export const ROUTES: { file: string; pattern: string; module: RouteModule<any> }[] = [
  { file: "index.tsx", pattern: "/", module: overviewRoute },
  { file: "tasks/index.tsx", pattern: "/tasks", module: tasksRoute },
  { file: "tasks/[id].tsx", pattern: "/tasks/:id", module: taskRoute },
];

/** Headers of every page: a strict CSP (everything is served from here) and friends. */
export const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy": [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

/**
 * The Hono route pattern of a file in `routes/`, Fresh style:
 * `index.tsx` → `/`, `tasks/index.tsx` → `/tasks`, `tasks/[id].tsx` → `/tasks/:id`.
 *
 * @example
 * ```ts
 * import { routePattern } from "./mod.ts";
 * routePattern("tasks/[id].tsx"); // "/tasks/:id"
 * ```
 */
export function routePattern(file: string): string {
  const parts = file.replace(/\.tsx?$/, "").split("/")
    .filter((part) => part !== "index")
    .map((part) => part.replace(/^\[(\w+)\]$/, ":$1"));
  return "/" + parts.join("/");
}

/**
 * Mounts the dashboard (`/`, `/tasks`, `/tasks/:id`, `/static/*`, `/islands/*`) on `app`.
 *
 * A `GET /tasks` that does not accept HTML is passed on, so an API client of
 * the original ThreadFlow's `GET /tasks` still gets its JSON when that route
 * is registered after this one.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { ThreadFlow } from "./mod.ts";
 * import { registerUi } from "./server/ui/mod.ts";
 * const tf = await ThreadFlow.start();
 * const app = new Hono();
 * registerUi(app, { engine: tf, config: {} });
 * Deno.serve(app.fetch);
 * ```
 */
export function registerUi(app: Hono, deps: UiDeps, options: UiOptions = {}): void {
  const islandsDir = options.islandsDir ?? DEFAULT_ISLANDS_DIR;
  const staticDir = options.staticDir ?? DEFAULT_STATIC_DIR;
  let staticFiles: Promise<Map<string, LoadedFile>> | null = null;
  let manifest: IslandManifest | null = null;
  const bundles = new Map<string, Uint8Array<ArrayBuffer>>();

  function getStaticFiles(): Promise<Map<string, LoadedFile>> {
    staticFiles ??= loadStaticFiles(staticDir).catch((error) => {
      staticFiles = null;
      throw error;
    });
    return staticFiles;
  }

  let manifestStamp: number | null = null;
  async function getManifest(): Promise<IslandManifest | null> {
    // Re-read when `deno task build` rewrote it (or first wrote it) since the last look.
    let stamp: number | null = null;
    try {
      stamp = (await Deno.stat(new URL("manifest.json", islandsDir))).mtime?.getTime() ?? 0;
    } catch {
      return manifest;
    }
    if (manifest === null || stamp !== manifestStamp) {
      manifest = await readIslandManifest(islandsDir);
      manifestStamp = stamp;
    }
    return manifest;
  }

  for (const route of ROUTES) {
    app.get(route.pattern, async (c: Context, next: Next) => {
      if (route.pattern === "/tasks" && !acceptsHtml(c.req.header("accept"))) return await next();
      const url = new URL(c.req.url);
      const [files, islands] = await Promise.all([getStaticFiles(), getManifest()]);
      const asset = (name: string) => {
        const file = files.get(name);
        return file ? `/static/${name}?v=${file.hash}` : `/static/${name}`;
      };
      if (deps.config.token && !hasToken(c, deps.config.token)) {
        const html = renderDocument(h(Locked, {}), {
          title: "Token required",
          url,
          locked: true,
          asset,
          manifest: islands,
        });
        return c.html(html, 401, PAGE_HEADERS);
      }
      let result;
      try {
        result = await route.module.handler({
          url,
          params: c.req.param() as Record<string, string>,
          engine: deps.engine,
        });
      } catch (error) {
        // The engine is closing or its store is down: still answer with a page.
        const unavailable = error instanceof ThreadFlowError &&
          (error.code === "closed" || error.code === "store_unavailable");
        if (!unavailable) {
          (deps.logger ?? console).error("A dashboard page failed to render.", {
            path: url.pathname,
            error: error instanceof Error ? error.message : String(error),
            stack: error instanceof Error ? error.stack : undefined,
          });
        }
        const html = renderDocument(h(Failed, { unavailable, error }), {
          title: unavailable ? "Unavailable" : "Error",
          url,
          locked: false,
          asset,
          manifest: islands,
        });
        return c.html(html, unavailable ? 503 : 500, PAGE_HEADERS);
      }
      if (result instanceof Response) return result;
      const html = renderDocument(h(route.module.default, { data: result.data, url }), {
        title: result.title,
        url,
        locked: false,
        asset,
        manifest: islands,
      });
      return c.html(html, (result.status ?? 200) as 200, PAGE_HEADERS);
    });
  }

  app.get("/static/:name", async (c) => {
    const name = c.req.param("name");
    const file = isSafeName(name) ? (await getStaticFiles()).get(name) : undefined;
    if (!file) return c.text("Not found", 404);
    const etag = `"${file.hash}"`;
    const headers: Record<string, string> = {
      "content-type": file.contentType,
      "cache-control": c.req.query("v") === file.hash ? IMMUTABLE : "no-cache",
      etag,
      "x-content-type-options": "nosniff",
    };
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
    return c.body(file.bytes, 200, headers);
  });

  app.get("/islands/:file", async (c) => {
    const file = c.req.param("file");
    if (!isSafeName(file) || !file.endsWith(".js")) return c.text("Not found", 404);
    let bytes = bundles.get(file);
    if (!bytes) {
      try {
        bytes = await Deno.readFile(new URL(file, islandsDir));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return c.text("Not found", 404);
        throw error;
      }
      bundles.set(file, bytes);
    }
    // Bundle names carry their content hash: a changed bundle is a new URL.
    return c.body(bytes, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": IMMUTABLE,
      "x-content-type-options": "nosniff",
    });
  });
}

function Failed({ unavailable, error }: { unavailable: boolean; error: unknown }) {
  return h("section", { class: "panel" }, [
    h("h1", null, unavailable ? "ThreadFlow is unavailable" : "This page failed"),
    h(
      "p",
      null,
      unavailable
        ? `${(error as Error).message} Try again in a moment.`
        : "The server could not render this page; the error is in its log.",
    ),
  ]);
}

function Locked() {
  return (
    h("section", { class: "panel locked" }, [
      h("h1", null, "Token required"),
      h(
        "p",
        null,
        "This ThreadFlow asks for an API token. Enter it in the box at the top; it is kept " +
          "for this browser tab only. (This needs JavaScript.)",
      ),
    ])
  );
}

/**
 * Whether an `Accept` header asks for HTML (browsers do; `fetch` and curl by default do not).
 *
 * @example
 * ```ts ignore
 * acceptsHtml("text/html,application/xhtml+xml"); // true
 * ```
 */
export function acceptsHtml(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes("text/html");
}

function hasToken(c: Context, token: string): boolean {
  const auth = c.req.header("authorization");
  if (auth?.startsWith("Bearer ") && safeEqual(auth.slice(7), token)) return true;
  for (const part of (c.req.header("cookie") ?? "").split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === TOKEN_COOKIE) {
      let value = rest.join("=");
      try {
        value = decodeURIComponent(value);
      } catch {
        return false;
      }
      if (safeEqual(value, token)) return true;
    }
  }
  return false;
}

/** Compares two strings in time that depends only on their lengths. */
function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
