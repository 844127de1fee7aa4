/**
 * The OpenAPI document against the live service: every operation is called
 * for real, and each answer's status, media type, documented headers and body
 * are checked against the document's schemas with ajv.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Ajv, type ValidateFunction } from "ajv";
import { startService, type TestService } from "./_service.ts";

const TOKEN = "openapi-test-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const FIXTURE_TASKS = new URL("../fixtures/tasks/", import.meta.url).pathname;

type Json = Record<string, unknown>;

interface Operation {
  operationId: string;
  method: string;
  path: string;
  responses: Record<string, {
    content?: Record<string, unknown>;
    headers?: Record<string, unknown>;
  }>;
}

/** Checks answers against the document and remembers which statuses each operation gave. */
class DocumentChecker {
  readonly operations = new Map<string, Operation>();
  readonly seen = new Map<string, Set<number>>();
  readonly #ajv = new Ajv({ strict: false, allErrors: true });
  readonly #validators = new Map<string, ValidateFunction>();

  constructor(document: Json) {
    this.#ajv.addFormat("binary", true);
    this.#ajv.addSchema(document, "openapi");
    const paths = document.paths as Record<string, Record<string, Json>>;
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const operationId = operation.operationId as string;
        assert(operationId, `${method} ${path} has no operationId`);
        assert(!this.operations.has(operationId), `operationId ${operationId} is not unique`);
        this.operations.set(operationId, {
          operationId,
          method,
          path,
          responses: operation.responses as Operation["responses"],
        });
      }
    }
  }

  /** Sends a request and checks the answer as an answer of `operationId`; returns its body. */
  async call(
    operationId: string,
    url: string,
    init: RequestInit & { expect: number },
  ): Promise<{ status: number; headers: Headers; body: unknown }> {
    const operation = this.operations.get(operationId);
    assert(operation, `The document has no operation ${operationId}`);
    const response = await fetch(url, init);
    const what = `${operationId}: ${init.method ?? "GET"} ${
      new URL(url).pathname
    } → ${response.status}`;
    const text = await response.text();
    assertEquals(response.status, init.expect, `${what}: ${text.slice(0, 300)}`);
    const documented = operation.responses[String(response.status)];
    assert(documented, `${what} is not documented`);
    this.#seen(operationId).add(response.status);
    for (const header of Object.keys(documented.headers ?? {})) {
      assert(response.headers.has(header), `${what} lacks the documented header ${header}`);
    }
    if (response.status === 304 || init.method === "HEAD") {
      assertEquals(text, "", `${what} has a body`);
      return { status: response.status, headers: response.headers, body: undefined };
    }
    const mediaType = (response.headers.get("content-type") ?? "").split(";")[0].trim();
    const content = documented.content ?? {};
    assert(
      mediaType in content,
      `${what}: ${mediaType} is not documented (${Object.keys(content)})`,
    );
    const pointer = [
      "paths",
      operation.path,
      operation.method,
      "responses",
      String(response.status),
      "content",
      mediaType,
      "schema",
    ].map((part) => part.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
    const body = mediaType === "application/json" ? JSON.parse(text) : text;
    const validate = this.#validator(`openapi#/${pointer}`);
    assert(validate(body), `${what}: ${JSON.stringify(validate.errors)}\n${text.slice(0, 500)}`);
    return { status: response.status, headers: response.headers, body };
  }

  #seen(operationId: string): Set<number> {
    let statuses = this.seen.get(operationId);
    if (statuses === undefined) this.seen.set(operationId, statuses = new Set());
    return statuses;
  }

  #validator(ref: string): ValidateFunction {
    let validate = this.#validators.get(ref);
    if (validate === undefined) {
      validate = this.#ajv.getSchema(ref);
      assert(validate, `No schema at ${ref}`);
      this.#validators.set(ref, validate);
    }
    return validate;
  }
}

function json(body: unknown, headers: Record<string, string> = AUTH): RequestInit {
  return {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}

/** Resolves once no task waits or runs (a loaded machine may take a while to run a few). */
async function drained(svc: TestService): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { counts } = await svc.engine.stats();
    if (counts.queued + counts.running === 0) return;
    if (Date.now() > deadline) throw new Error(`Tasks still waiting: ${JSON.stringify(counts)}.`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function submit(svc: TestService, checker: DocumentChecker, body: Json): Promise<string> {
  const answer = await checker.call("submitTask", `${svc.url}/api/tasks`, {
    ...json(body),
    expect: 201,
  });
  return ((answer.body as Json).task as Json).id as string;
}

Deno.test("every operation's live answers match /api/openapi.json (checked with ajv)", async () => {
  const svc = await startService({
    args: ["--token", TOKEN, "--max-body", "16KiB"],
    engine: { workers: 1, tasksDir: FIXTURE_TASKS, maxQueued: 3 },
  });
  try {
    const documentAnswer = await fetch(`${svc.url}/api/openapi.json`, { headers: AUTH });
    const document = await documentAnswer.json();
    assertEquals(document.openapi, "3.0.3");
    assertEquals(document.servers, [{ url: svc.url, description: "This ThreadFlow service." }]);
    const checker = new DocumentChecker(document);
    const u = svc.url;
    const get = (expect: number, headers: Record<string, string> = AUTH) => ({ headers, expect });

    await checker.call("getOpenApiDocument", `${u}/api/openapi.json`, get(200));
    await checker.call("getOpenApiDocument", `${u}/api/openapi.json`, get(401, {}));

    // Submitting: JSON, bytes, idempotency, and every refusal.
    const noop = await submit(svc, checker, { type: "noop", payload: { n: 1 } });
    await checker.call("submitTask", `${u}/api/tasks`, {
      ...json({ type: "noop", idempotencyKey: "k1" }),
      expect: 201,
    });
    await checker.call("submitTask", `${u}/api/tasks`, {
      ...json({ type: "noop", idempotencyKey: "k1" }),
      expect: 200,
    });
    await checker.call("submitTask", `${u}/api/tasks?type=sha256&priority=7`, {
      method: "POST",
      headers: { ...AUTH, "content-type": "application/octet-stream" },
      body: new Uint8Array([1, 2, 3]),
      expect: 201,
    });
    await checker.call("submitTask", `${u}/api/tasks`, {
      ...json({ type: "noop" }, {}),
      expect: 401,
    });
    await checker.call("submitTask", `${u}/api/tasks`, {
      ...json({ type: "noop", priority: 11 }),
      expect: 400,
    });
    // A retry with changes names the task it retries; a malformed id is refused, naming retryOf.
    const retried = await checker.call("submitTask", `${u}/api/tasks`, {
      ...json({ type: "noop", retryOf: "0192c0de-0000-7000-8000-000000000000" }),
      expect: 201,
    });
    assertEquals(
      (retried.body as { task: { retryOf: string } }).task.retryOf,
      "0192c0de-0000-7000-8000-000000000000",
    );
    const refused = await checker.call("submitTask", `${u}/api/tasks`, {
      ...json({ type: "noop", retryOf: "yesterday's task" }),
      expect: 400,
    });
    assertEquals((refused.body as { error: { field: string } }).error.field, "retryOf");
    await checker.call("submitTask", `${u}/api/tasks`, {
      method: "POST",
      headers: { ...AUTH, "content-type": "text/plain" },
      body: "noop",
      expect: 415,
    });
    await checker.call("submitTask", `${u}/api/tasks`, {
      ...json({ type: "noop", payload: "x".repeat(20_000) }),
      expect: 413,
    });
    await checker.call("submitTask", `${u}/api/tasks`, {
      method: "PUT",
      headers: AUTH,
      expect: 405,
    });

    // The queue holds 3 (maxQueued, checked at the end): let what was accepted run first.
    await drained(svc);
    const batch = await checker.call("submitTaskBatch", `${u}/api/tasks/batch`, {
      ...json({ tasks: [{ type: "noop" }, { type: "fib", payload: { n: 10 } }] }),
      expect: 201,
    });
    await checker.call("submitTaskBatch", `${u}/api/tasks/batch`, {
      ...json({ tasks: [] }),
      expect: 400,
    });
    await checker.call("submitTaskBatch", `${u}/api/tasks/batch`, {
      method: "POST",
      headers: { ...AUTH, "content-type": "text/plain" },
      body: "{}",
      expect: 415,
    });
    await checker.call("submitTaskBatch", `${u}/api/tasks/batch`, get(405));

    await drained(svc);
    const failing = await submit(svc, checker, { type: "throws" });
    for (const task of (batch.body as { tasks: Json[] }).tasks) {
      await svc.engine.wait(task.id as string);
    }
    await svc.engine.wait(noop);
    await svc.engine.wait(failing);

    // Reading.
    await checker.call("getTask", `${u}/api/tasks/${noop}`, get(200));
    await checker.call(
      "getTask",
      `${u}/api/tasks/${noop}`,
      get(304, { ...AUTH, "if-none-match": "*" }),
    );
    await checker.call("getTask", `${u}/api/tasks/${noop}`, {
      method: "HEAD",
      headers: AUTH,
      expect: 200,
    });
    await checker.call("getTask", `${u}/api/tasks/no-such-task`, get(404));
    await checker.call("getTask", `${u}/api/tasks/${"x".repeat(101)}`, get(400));
    await checker.call("getTask", `${u}/api/tasks/${noop}`, {
      method: "DELETE",
      headers: AUTH,
      expect: 405,
    });
    const child = await submit(svc, checker, { type: "noop", dependsOn: [noop] });
    const children = await checker.call(
      "listDependents",
      `${u}/api/tasks/${noop}/dependents?limit=10`,
      get(200),
    );
    assertEquals((children.body as { tasks: Json[] }).tasks.map((task) => task.id), [child]);
    await checker.call("listDependents", `${u}/api/tasks/no-such-task/dependents`, get(404));
    await checker.call("listDependents", `${u}/api/tasks/${noop}/dependents?limit=0`, get(400));
    await checker.call("listTasks", `${u}/api/tasks?status=succeeded,failed&limit=10`, get(200));
    await checker.call("listTasks", `${u}/api/tasks?limit=many`, get(400));
    const sorted = await checker.call(
      "listTasks",
      `${u}/api/tasks?sort=priority&total=true&limit=1`,
      get(200),
    );
    const page = sorted.body as { total: number; nextCursor: string };
    assert(page.total > 1 && page.nextCursor, "the total counts every task; more pages follow");
    await checker.call(
      "listTasks",
      `${u}/api/tasks?sort=runTime&limit=1&cursor=${page.nextCursor}`,
      get(200),
    );
    // A cursor of one sort is refused by another, naming the field.
    await checker.call("listTasks", `${u}/api/tasks?cursor=${page.nextCursor}`, get(400));
    const found = await checker.call("listTasks", `${u}/api/tasks?id=${noop}&total=true`, get(200));
    assertEquals((found.body as { total: number }).total, 1);
    await checker.call("listTasks", `${u}/api/tasks?sort=fastest`, get(400));
    await checker.call("listTasks", `${u}/api/tasks?id=xyz`, get(400));
    await checker.call("waitForTask", `${u}/api/tasks/${noop}/wait`, get(200));
    await checker.call("waitForTask", `${u}/api/tasks/${noop}/wait?timeoutMs=soon`, get(400));
    await checker.call("waitForTask", `${u}/api/tasks/no-such-task/wait`, get(404));
    await checker.call("getStats", `${u}/api/stats`, get(200));
    await checker.call("getStats", `${u}/api/stats`, get(401, {}));
    await checker.call("getWorkers", `${u}/api/workers`, get(200));
    await checker.call("getTaskTypes", `${u}/api/task-types`, get(200));
    await checker.call("getTaskTypes", `${u}/api/task-types`, {
      ...get(304, { ...AUTH, "if-none-match": "*" }),
    });
    await checker.call("getTaskType", `${u}/api/task-types/fib`, get(200));
    await checker.call("getTaskType", `${u}/api/task-types/nope`, get(404));
    const put = (body: unknown) => ({ ...json(body), method: "PUT" });
    await checker.call("setTaskTypeLimits", `${u}/api/task-types/fib/limits`, {
      ...put({ concurrency: 3, ratePerSecond: 20, burst: 5 }),
      expect: 200,
    });
    await checker.call("setTaskTypeLimits", `${u}/api/task-types/fib/limits`, {
      ...put({ concurrency: 0 }),
      expect: 400,
    });
    await checker.call("setTaskTypeLimits", `${u}/api/task-types/nope/limits`, {
      ...put({}),
      expect: 404,
    });
    const post = (expect: number) => ({ ...json(undefined), expect });
    await checker.call("resetTaskTypeLimits", `${u}/api/task-types/fib/limits`, {
      method: "DELETE",
      headers: AUTH,
      expect: 200,
    });
    await checker.call("pauseTaskType", `${u}/api/task-types/sleep/pause`, post(200));
    await checker.call("pauseTaskType", `${u}/api/task-types/nope/pause`, post(404));
    await checker.call("resumeTaskType", `${u}/api/task-types/sleep/resume`, post(200));
    const schedule = { name: "api-doc", cron: "0 3 * * *", task: { type: "noop" } };
    await checker.call("createSchedule", `${u}/api/schedules`, { ...json(schedule), expect: 201 });
    await checker.call("createSchedule", `${u}/api/schedules`, { ...json(schedule), expect: 409 });
    await checker.call("createSchedule", `${u}/api/schedules`, {
      ...json({ ...schedule, cron: "61 * * * *" }),
      expect: 400,
    });
    await checker.call("getSchedules", `${u}/api/schedules`, get(200));
    await checker.call("getSchedule", `${u}/api/schedules/api-doc`, get(200));
    await checker.call("getSchedule", `${u}/api/schedules/nope`, get(404));
    const patch = (body: unknown) => ({ ...json(body), method: "PATCH" });
    await checker.call("updateSchedule", `${u}/api/schedules/api-doc`, {
      ...patch({ paused: true }),
      expect: 200,
    });
    await checker.call("updateSchedule", `${u}/api/schedules/api-doc`, {
      ...patch({ timezone: "Nowhere/Else" }),
      expect: 400,
    });
    await checker.call("updateSchedule", `${u}/api/schedules/nope`, {
      ...patch({ paused: false }),
      expect: 404,
    });
    const remove = (expect: number) => ({ method: "DELETE", headers: AUTH, expect });
    await checker.call("deleteSchedule", `${u}/api/schedules/api-doc`, remove(200));
    await checker.call("deleteSchedule", `${u}/api/schedules/api-doc`, remove(404));
    await checker.call("getHistory", `${u}/api/history`, get(200));
    await checker.call("getHistory", `${u}/api/history?window=3600`, get(200));
    await checker.call("getHistory", `${u}/api/history?window=7`, get(400));
    await checker.call("getHealth", `${u}/health`, get(200, {}));
    await checker.call("getHealth", `${u}/health`, { method: "POST", expect: 405 });
    await checker.call("getReadiness", `${u}/ready`, get(200, {}));
    await checker.call("getMetrics", `${u}/metrics`, get(200, {}));
    await checker.call("getMetrics", `${u}/metrics`, { method: "POST", expect: 405 });

    // The original endpoints.
    await checker.call("originalSubmit", `${u}/submit`, {
      ...json({ data: 1, priority: 2 }),
      expect: 200,
    });
    await checker.call("originalSubmit", `${u}/submit`, { ...json({ priority: 0 }), expect: 400 });
    await checker.call("originalSubmit", `${u}/submit`, { ...json({}, {}), expect: 401 });
    await checker.call("originalSubmit", `${u}/submit`, {
      ...json({ data: "x".repeat(20_000) }),
      expect: 413,
    });
    await checker.call("originalSubmit", `${u}/submit`, get(405));
    await checker.call("originalQueuedCount", `${u}/tasks`, get(200));
    await checker.call(
      "originalQueuedCount",
      `${u}/tasks`,
      get(200, { ...AUTH, accept: "text/html" }),
    );
    await checker.call("originalQueuedCount", `${u}/tasks`, get(401, {}));
    await checker.call("originalCompletedTasks", `${u}/completed_tasks?since=${noop}`, get(200));
    await checker.call("originalCompletedTasks", `${u}/completed_tasks?since=garbage`, get(200));
    await checker.call("originalCompletedTasks", `${u}/completed_tasks?limit=0`, get(400));
    await checker.call("originalCompletedTasks", `${u}/completed_tasks`, get(401, {}));

    // One worker held, three queued behind it: the queue is full (maxQueued 3).
    const held = await submit(svc, checker, { type: "hold" });
    while ((await svc.engine.get(held))?.status !== "running") {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const queued = [];
    // Slow ones: a worker may take several fast (noop) tasks at once, which would leave the queue.
    for (let i = 0; i < 3; i++) {
      queued.push(await submit(svc, checker, { type: "sleep", payload: { ms: 60_000 } }));
    }
    await checker.call("submitTask", `${u}/api/tasks`, { ...json({ type: "noop" }), expect: 429 });
    await checker.call("submitTaskBatch", `${u}/api/tasks/batch`, {
      ...json({ tasks: [{ type: "noop" }] }),
      expect: 429,
    });
    await checker.call("retryTask", `${u}/api/tasks/${failing}/retry`, {
      method: "POST",
      headers: AUTH,
      expect: 429,
    });
    await checker.call("originalSubmit", `${u}/submit`, { ...json({ data: 1 }), expect: 429 });
    await checker.call("waitForTask", `${u}/api/tasks/${held}/wait?timeoutMs=0`, get(408));
    for (const id of queued) {
      await checker.call("cancelTask", `${u}/api/tasks/${id}/cancel`, {
        method: "POST",
        headers: AUTH,
        expect: 200,
      });
    }
    await checker.call("cancelTask", `${u}/api/tasks/${queued[0]}/cancel`, {
      method: "POST",
      headers: AUTH,
      expect: 409,
    });
    await checker.call("cancelTask", `${u}/api/tasks/no-such-task/cancel`, {
      method: "POST",
      headers: AUTH,
      expect: 404,
    });
    await checker.call("cancelTask", `${u}/api/tasks/${"y".repeat(101)}/cancel`, {
      method: "POST",
      headers: AUTH,
      expect: 400,
    });
    await checker.call("cancelTask", `${u}/api/tasks/${held}/cancel`, get(405));
    await checker.call("retryTask", `${u}/api/tasks/${failing}/retry`, {
      method: "POST",
      headers: AUTH,
      expect: 200,
    });
    await checker.call("retryTask", `${u}/api/tasks/${noop}/retry`, {
      method: "POST",
      headers: AUTH,
      expect: 409,
    });
    await checker.call("retryTask", `${u}/api/tasks/no-such-task/retry`, {
      method: "POST",
      headers: AUTH,
      expect: 404,
    });

    // Shutting down: a long poll ends with 503 and the task; /ready turns 503; closed → 503.
    const waiting = checker.call(
      "waitForTask",
      `${u}/api/tasks/${failing}/wait?timeoutMs=60000`,
      get(503),
    );
    // Before or after the drain starts, a long poll answers 503 with the task as it stands.
    svc.service.drain();
    const ended = await waiting;
    assertEquals(((ended.body as Json).task as Json).id, failing);
    await checker.call("getReadiness", `${u}/ready`, get(503, {}));
    await svc.engine.close({ drainMs: 0 });
    await checker.call("submitTask", `${u}/api/tasks`, { ...json({ type: "noop" }), expect: 503 });
    await checker.call("originalSubmit", `${u}/submit`, { ...json({ data: 1 }), expect: 503 });

    // Every operation was called, and answered with success at least once.
    for (const operationId of checker.operations.keys()) {
      const statuses = [...(checker.seen.get(operationId) ?? [])];
      assert(
        statuses.some((status) => status < 300),
        `${operationId} never succeeded: ${statuses}`,
      );
    }
  } finally {
    await svc.close();
  }
});
