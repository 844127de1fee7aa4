/**
 * The task routes of the HTTP API (`/api/tasks…`), defined with their
 * schemas so `/api/openapi.json` is generated from them.
 *
 * @module
 */

import type { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  isTerminal,
  type SubmitInput,
  type Task,
  TaskNotFoundError,
  type TaskQuery,
  type TaskStatus,
  ThreadFlowError,
} from "../../engine/mod.ts";
import type { AppEnv } from "../app_env.ts";
import type { ServiceEngine } from "../engine_port.ts";
import { HttpError, MethodNotAllowedError } from "../errors.ts";
import { validationError } from "../validation.ts";
import { BytesSubmitQuerySchema, isPlainSubmitInput, SubmitInputSchema } from "../schemas.ts";
import { taskToJson } from "../task_json.ts";
import {
  batchRoute,
  cancelRoute,
  dependentsRoute,
  getRoute,
  listRoute,
  retryRoute,
  submitRoute,
  waitRoute,
} from "./task_routes_spec.ts";

/** What the task routes need. */
export interface TaskRouteDeps {
  engine: ServiceEngine;
  /** Aborted when the service starts draining, to end long polls. */
  shutdownSignal: AbortSignal;
}

const DEFAULT_WAIT_MS = 30_000;
/** `application/json`, or `application/<anything>+json`, with parameters or not. */
export const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;
const MAX_WAIT_MS = 300_000;

/**
 * Registers the task routes on the `/api` sub-app.
 *
 * @example
 * ```ts ignore
 * const api = new OpenAPIHono<AppEnv>();
 * registerTaskRoutes(api, { engine, shutdownSignal: controller.signal });
 * app.route("/api", api);
 * ```
 */
export function registerTaskRoutes(api: OpenAPIHono<AppEnv>, deps: TaskRouteDeps): void {
  const { engine } = deps;

  // The hottest route is registered for the OpenAPI document from its definition and served by a
  // plain handler that validates with the same schemas: the generic validator chain (media-type
  // gate, optional-body wrapper, query validator) cost a quarter of its time.
  api.openAPIRegistry.registerPath(submitRoute);
  api.post("/tasks", async (c) => {
    const contentType = c.req.header("content-type") ?? "";
    let input: SubmitInput;
    if (contentType.startsWith("application/octet-stream")) {
      const query = BytesSubmitQuerySchema.safeParse(c.req.query());
      if (!query.success) throw validationError(query.error, "query");
      input = bytesInput(query.data, new Uint8Array(await c.req.arrayBuffer()));
    } else if (JSON_MEDIA_TYPE.test(contentType)) {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new HttpError(400, "invalid_json", "The request body must be valid JSON.", "body");
      }
      if (isPlainSubmitInput(body)) {
        input = body as SubmitInput;
      } else {
        const parsed = SubmitInputSchema.safeParse(body);
        if (!parsed.success) throw validationError(parsed.error, "json");
        input = parsed.data as SubmitInput;
      }
    } else {
      throw new HttpError(
        415,
        "unsupported_media_type",
        "The request body must be sent as application/json (or application/octet-stream for " +
          "a byte payload).",
        "content-type",
      );
    }
    // The engine hands byte payloads to a worker by transfer, which empties the array the
    // submit answer shares; give it a copy and answer with the original.
    const bytes = input.payload instanceof Uint8Array ? input.payload : undefined;
    if (bytes !== undefined) input.payload = bytes.slice();
    const withBytes = (task: Task): Task =>
      bytes !== undefined && task.payload instanceof Uint8Array
        ? { ...task, payload: bytes }
        : task;
    if (input.idempotencyKey === undefined) {
      const task = withBytes(await engine.submit(input));
      c.header("location", `/api/tasks/${task.id}`);
      return c.json({ task: taskToJson(task) }, 201);
    }
    // Only the batch call says whether the key was new.
    const [result] = await submitOne(engine, input);
    const task = result.created ? withBytes(result.task) : result.task;
    c.header("location", `/api/tasks/${task.id}`);
    return c.json({ task: taskToJson(task) }, result.created ? 201 : 200);
  });

  api.openapi(batchRoute, async (c) => {
    const { tasks } = c.req.valid("json");
    const results = await engine.submitBatch(tasks as SubmitInput[], { outcomes: true });
    return c.json({ tasks: results.map((result) => taskToJson(result.task)) }, 201);
  });

  api.openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    const taskQuery: TaskQuery = {};
    if (query.status) taskQuery.status = query.status.split(",") as TaskStatus[];
    if (query.type) taskQuery.type = query.type.split(",");
    if (query.priority) taskQuery.priority = query.priority.split(",").map(Number);
    if (query.limit) taskQuery.limit = Number(query.limit);
    if (query.id) taskQuery.idPrefix = query.id;
    if (query.sort) taskQuery.sort = query.sort;
    if (query.total === "true") taskQuery.withTotal = true;
    // The engine checks the cursor against the sort (a ValidationError naming `cursor`).
    if (query.cursor !== undefined) taskQuery.cursor = query.cursor;
    const page = await engine.list(taskQuery);
    return c.json({
      tasks: page.tasks.map(taskToJson),
      nextCursor: page.nextCursor,
      ...(page.total === undefined ? {} : { total: page.total }),
    }, 200);
  });

  // Registered before /tasks/:id, which would take "batch" for a task id.
  api.get("/tasks/batch", (c) => {
    throw new MethodNotAllowedError(c.req.method, c.req.path, ["POST", "OPTIONS"]);
  });

  api.openapi(getRoute, async (c) => {
    const { id } = c.req.valid("param");
    const task = await engine.get(id);
    if (task === undefined) throw new TaskNotFoundError(id);
    return c.json({ task: taskToJson(task) }, 200);
  });

  api.openapi(dependentsRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { limit } = c.req.valid("query");
    if (await engine.get(id) === undefined) throw new TaskNotFoundError(id);
    const children = await engine.dependents(id, {
      limit: limit === undefined ? 100 : Number(limit),
    });
    return c.json({ tasks: children.map(taskToJson) }, 200);
  });

  api.openapi(waitRoute, async (c) => {
    const { id } = c.req.valid("param");
    const timeoutMs = c.req.valid("query").timeoutMs === undefined
      ? DEFAULT_WAIT_MS
      : Number(c.req.valid("query").timeoutMs);
    if (timeoutMs > MAX_WAIT_MS) {
      throw new HttpError(
        400,
        "validation_error",
        `timeoutMs must be an integer from 0 to ${MAX_WAIT_MS}: received ${timeoutMs}.`,
        "timeoutMs",
      );
    }
    const outcome = await waitForTask(engine, id, timeoutMs, deps.shutdownSignal);
    if (outcome.ended) return c.json({ task: taskToJson(outcome.task) }, 200);
    const body = {
      error: deps.shutdownSignal.aborted
        ? { code: "closed", message: "ThreadFlow is shutting down; the wait was ended early." }
        : {
          code: "wait_timeout",
          message: `The task did not end within ${timeoutMs} ms; it is ${outcome.task.status}.`,
        },
      task: taskToJson(outcome.task),
    };
    return deps.shutdownSignal.aborted ? c.json(body, 503) : c.json(body, 408);
  });

  api.openapi(cancelRoute, async (c) => {
    const task = await engine.cancel(c.req.valid("param").id);
    return c.json({ task: taskToJson(task) }, 200);
  });

  api.openapi(retryRoute, async (c) => {
    const task = await engine.retry(c.req.valid("param").id);
    return c.json({ task: taskToJson(task) }, 200);
  });
}

async function submitOne(engine: ServiceEngine, input: SubmitInput) {
  try {
    return await engine.submitBatch([input], { outcomes: true });
  } catch (error) {
    // The batch call names fields "tasks[0].x"; a single submit names them "x".
    if (error instanceof ThreadFlowError && error.field?.startsWith("tasks[0].")) {
      Object.defineProperty(error, "field", { value: error.field.slice("tasks[0].".length) });
    }
    throw error;
  }
}

function bytesInput(query: z.infer<typeof BytesSubmitQuerySchema>, bytes: Uint8Array): SubmitInput {
  if (query.type === undefined || query.type === "") {
    throw new HttpError(
      400,
      "validation_error",
      "type is required in the query string when the body is bytes (application/octet-stream).",
      "type",
    );
  }
  const input: SubmitInput = { type: query.type, payload: bytes };
  if (query.priority !== undefined) input.priority = Number(query.priority);
  if (query.delayMs !== undefined) input.delayMs = Number(query.delayMs);
  if (query.timeoutMs !== undefined) input.timeoutMs = Number(query.timeoutMs);
  if (query.maxAttempts !== undefined) input.maxAttempts = Number(query.maxAttempts);
  if (query.idempotencyKey !== undefined) input.idempotencyKey = query.idempotencyKey;
  return input;
}

type WaitOutcome = { ended: boolean; task: Task };

/** Waits for a task to end, up to `timeoutMs` or until `shutdown` aborts. */
async function waitForTask(
  engine: ServiceEngine,
  id: string,
  timeoutMs: number,
  shutdown: AbortSignal,
): Promise<WaitOutcome> {
  const current = await engine.get(id);
  if (current === undefined) throw new TaskNotFoundError(id);
  // A wait that arrives while the service drains would hold its shutdown: answer at once.
  if (isTerminal(current.status) || timeoutMs === 0 || shutdown.aborted) {
    return { ended: isTerminal(current.status), task: current };
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const abort = () => controller.abort();
  shutdown.addEventListener("abort", abort, { once: true });
  try {
    const task = await engine.wait(id, { signal: controller.signal });
    return { ended: true, task };
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    const task = await engine.get(id);
    if (task === undefined) throw new TaskNotFoundError(id);
    return { ended: isTerminal(task.status), task };
  } finally {
    clearTimeout(timer);
    shutdown.removeEventListener("abort", abort);
  }
}
