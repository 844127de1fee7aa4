/**
 * Types of the server side of the dashboard: what it needs from the engine,
 * and the shape of a route module in `routes/`.
 *
 * @module
 */

import type { ComponentChildren, ComponentType } from "preact";
import type { TaskPage, TaskQuery } from "../../engine/mod.ts";
import type {
  DashboardStats,
  Task,
  TaskTypeSummary,
  WorkerInfo,
} from "../../islands/_shared/types.ts";

/** What the dashboard reads from the engine; a `ThreadFlow` satisfies it. */
export interface UiEngine {
  readonly nodeId: string;
  stats(): Promise<DashboardStats>;
  list(query: TaskQuery): Promise<TaskPage>;
  get(id: string): Promise<Task | undefined>;
  workers(): WorkerInfo[];
  taskTypes(): TaskTypeSummary[];
}

/** What a route's handler gets. */
export interface RouteContext {
  url: URL;
  /** Path parameters, e.g. `id` for `routes/tasks/[id].tsx`. */
  params: Record<string, string>;
  engine: UiEngine;
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

/** A file in `routes/`: a handler that loads data and a component that renders it. */
export interface RouteModule<T> {
  handler(ctx: RouteContext): Promise<PageResult<T> | Response>;
  default: ComponentType<PageProps<T>>;
}

/** Props of the page shell, `routes/_app.tsx`. */
export interface AppProps {
  title: string;
  url: URL;
  /** URL of a file in `static/`, with its content hash. */
  asset: (name: string) => string;
  /** The server wants a token and the request had none: the page holds no data. */
  locked: boolean;
  children?: ComponentChildren;
}
