/**
 * A small Fresh-style framework for the dashboard: pages in the app's
 * `routes/` rendered on the server with Preact, made live by the islands in its
 * `islands/`, mounted on a Hono app. The app hands over its routes and islands
 * through the manifest `deno task build` writes (`dashboard.gen.ts`); nothing
 * here imports a file of the app.
 *
 * @module
 */

import { h } from "preact";
import type { Context, Hono, Next } from "hono";
import {
  IMMUTABLE,
  type IslandManifest,
  ISLANDS_DIR,
  isSafeName,
  type LoadedFile,
  loadStaticFiles,
  readIslandManifest,
  STATIC_DIR,
} from "./assets.ts";
import { registerIsland } from "./islands.ts";
import { renderDocument } from "./render.ts";
import type { ErrorPageProps, UiManifest } from "./types.ts";

export type {
  AppProps,
  ErrorPageProps,
  PageProps,
  PageResult,
  RouteConfig,
  RouteContext,
  RouteModule,
  UiManifest,
} from "./types.ts";

/** Options of {@linkcode registerUi}. */
export interface UiOptions<S> {
  /** The app's state, handed to every route handler and to the shell. */
  state: S;
  /** When set, pages show data only to a browser that presents it; default none. */
  token?: string;
  /**
   * Whether an error a handler threw means the app is unavailable for now
   * (answered 503 and not logged) rather than a bug (500, logged); default never.
   */
  isUnavailable?: (error: unknown) => boolean;
  /** Where a page that failed to render is reported; default `console`. */
  logger?: { error(message: string, fields?: Record<string, unknown>): void };
  /** Folder of the built island bundles; default `dist/islands/` under the manifest's `baseUrl`. */
  islandsDir?: URL;
  /** Folder of the static files; default `static/` under the manifest's `baseUrl`. */
  staticDir?: URL;
}

/** Cookie a browser that entered the token sends, so pages can render with data. */
export const TOKEN_COOKIE = "tf_token";

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
 * Mounts the pages of `manifest` at the patterns their file names give, and
 * `/static/*` and `/islands/*`, on `app`.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import manifest from "../../dashboard.gen.ts";
 * import { registerUi } from "./mod.ts";
 * const app = new Hono();
 * registerUi(app, manifest, { state: { engine } });
 * Deno.serve(app.fetch);
 * ```
 */
export function registerUi<S>(app: Hono, manifest: UiManifest<S>, options: UiOptions<S>): void {
  const islandsDir = options.islandsDir ?? new URL(ISLANDS_DIR, manifest.baseUrl);
  const staticDir = options.staticDir ?? new URL(STATIC_DIR, manifest.baseUrl);
  const { state, token } = options;
  let staticFiles: Promise<Map<string, LoadedFile>> | null = null;
  let bundleManifest: IslandManifest | null = null;
  const bundles = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const [name, component] of Object.entries(manifest.islands)) {
    registerIsland(name, component);
  }

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
      return bundleManifest;
    }
    if (bundleManifest === null || stamp !== manifestStamp) {
      bundleManifest = await readIslandManifest(islandsDir);
      manifestStamp = stamp;
    }
    return bundleManifest;
  }

  for (const [file, route] of Object.entries(manifest.routes).sort(byPattern)) {
    app.get(routePattern(file), async (c: Context, next: Next) => {
      if (route.config?.htmlOnly && !acceptsHtml(c.req.header("accept"))) return await next();
      const url = new URL(c.req.url);
      const [files, islands] = await Promise.all([getStaticFiles(), getManifest()]);
      const asset = (name: string) => {
        const file = files.get(name);
        return file ? `/static/${name}?v=${file.hash}` : `/static/${name}`;
      };
      const page = (status: ErrorPageProps["status"], locked: boolean, message?: string) =>
        c.html(
          renderDocument(h(manifest.error, { status, message }), {
            app: manifest.app,
            state,
            title: status === 401 ? "Token required" : status === 503 ? "Unavailable" : "Error",
            url,
            locked,
            asset,
            manifest: islands,
          }),
          status,
          PAGE_HEADERS,
        );
      if (token && !hasToken(c, token)) return page(401, true);
      let result;
      try {
        result = await route.handler({
          request: c.req.raw,
          url,
          params: c.req.param() as Record<string, string>,
          state,
        });
      } catch (error) {
        // The app is closing or its store is down: still answer with a page.
        if (options.isUnavailable?.(error)) {
          return page(503, false, error instanceof Error ? error.message : String(error));
        }
        (options.logger ?? console).error("A dashboard page failed to render.", {
          path: url.pathname,
          error: error instanceof Error ? error.message : String(error),
          stack: error instanceof Error ? error.stack : undefined,
        });
        return page(500, false);
      }
      if (result instanceof Response) return result;
      const html = renderDocument(h(route.default, { data: result.data, url }), {
        app: manifest.app,
        state,
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

/** Static patterns before parameters, so `/tasks/new` would win over `/tasks/:id`. */
function byPattern(a: [string, unknown], b: [string, unknown]): number {
  const key = (file: string) => routePattern(file).replaceAll(":", "~");
  return key(a[0]) < key(b[0]) ? -1 : key(a[0]) > key(b[0]) ? 1 : 0;
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
