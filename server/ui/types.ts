/**
 * Types of the dashboard framework: the manifest an app hands it, the shape
 * of a route module, and what pages and the shell receive. Nothing here names
 * the app: the app's own state (its engine, its config) is the type parameter
 * `S`.
 *
 * @module
 */

import type { ComponentChildren, ComponentType } from "preact";

/** What a route's handler gets. */
export interface RouteContext<S> {
  /** The request, for its headers. */
  request: Request;
  url: URL;
  /** Path parameters, e.g. `id` for `routes/tasks/[id].tsx`. */
  params: Record<string, string>;
  /** The app's state, as given to `registerUi`. */
  state: S;
}

/** A page to render: its title, the data its component gets, and the HTTP status. */
export interface PageResult<T> {
  title: string;
  data: T;
  /** Default 200. */
  status?: number;
}

/** Props of a route's page component. */
export interface PageProps<T> {
  data: T;
  url: URL;
}

/** How a route takes requests. */
export interface RouteConfig {
  /**
   * Answer only requests whose `Accept` names `text/html`; pass the others on
   * to the next handler. Default `false`.
   */
  htmlOnly?: boolean;
}

/** A file in `routes/`: a handler that loads data and a component that renders it. */
export interface RouteModule<S, T> {
  handler(ctx: RouteContext<S>): Promise<PageResult<T> | Response>;
  default: ComponentType<PageProps<T>>;
  config?: RouteConfig;
}

/** Props of the page shell, `routes/_app.tsx`. */
export interface AppProps<S> {
  title: string;
  url: URL;
  /** URL of a file in `static/`, with its content hash. */
  asset: (name: string) => string;
  /** The server wants a token and the request had none: the page holds no data. */
  locked: boolean;
  state: S;
  children?: ComponentChildren;
}

/** Why a page could not be shown; props of `routes/_error.tsx`. */
export interface ErrorPageProps {
  /** 401 (no token), 500 (the page failed) or 503 (the app is unavailable). */
  status: 401 | 500 | 503;
  /** The error's own message, for a 503 only (a 500's stays in the log). */
  message?: string;
}

/**
 * What `deno task build` writes into the app's generated manifest
 * (`dashboard.gen.ts`): every route and island of the app, so the framework
 * never imports the app's files itself.
 */
export interface UiManifest<S> {
  /** The app's root folder; `static/` and `dist/islands/` are found from it. */
  baseUrl: URL;
  /** The shell, `routes/_app.tsx`. */
  app: ComponentType<AppProps<S>>;
  /** The error page, `routes/_error.tsx`. */
  error: ComponentType<ErrorPageProps>;
  /** Route modules by file name under `routes/`, e.g. `tasks/[id].tsx`. */
  // deno-lint-ignore no-explicit-any
  routes: Record<string, RouteModule<S, any>>;
  /** Island components by name, as in `islands/<Name>.tsx`. */
  // deno-lint-ignore no-explicit-any
  islands: Record<string, ComponentType<any>>;
}
