import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { VERSION } from "../../server/app.ts";
import { requestJson, startService } from "./_service.ts";

type Json = Record<string, unknown>;

function taskOf(body: Json): Json {
  return body.task as Json;
}

function errorOf(body: Json): { code: string; message: string; field?: string } {
  return body.error as { code: string; message: string; field?: string };
}

Deno.test("POST /api/tasks creates a task and GET /api/tasks/:id/wait returns it finished", async () => {
  const svc = await startService();
  try {
    const created = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: { type: "fib", payload: { n: 20 }, priority: 9 },
    });
    assertEquals(created.status, 201);
    const task = taskOf(created.body);
    assertEquals(task.type, "fib");
    assertEquals(task.priority, 9);
    assertEquals(created.headers.get("location"), `/api/tasks/${task.id}`);
    assert(created.headers.get("x-request-id"));

    const done = await requestJson(`${svc.url}/api/tasks/${task.id}/wait?timeoutMs=20000`);
    assertEquals(done.status, 200);
    assertEquals(taskOf(done.body).status, "succeeded");
    assertEquals(taskOf(done.body).result, 6765);

    const fetched = await requestJson(`${svc.url}/api/tasks/${task.id}`);
    assertEquals(fetched.status, 200);
    assertEquals(taskOf(fetched.body).id, task.id);
  } finally {
    await svc.close();
  }
});

Deno.test("POST /api/tasks with an idempotencyKey answers 201 then 200 with the same task", async () => {
  const svc = await startService();
  try {
    const body = { type: "noop", payload: 1, idempotencyKey: "order-42" };
    const first = await requestJson(`${svc.url}/api/tasks`, { method: "POST", body });
    const second = await requestJson(`${svc.url}/api/tasks`, { method: "POST", body });
    assertEquals(first.status, 201);
    assertEquals(second.status, 200);
    assertEquals(taskOf(second.body).id, taskOf(first.body).id);
  } finally {
    await svc.close();
  }
});

Deno.test("POST /api/tasks with an octet-stream body makes the bytes the payload", async () => {
  const svc = await startService();
  try {
    const response = await fetch(`${svc.url}/api/tasks?type=gzip&priority=7`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: new TextEncoder().encode("hello hello hello hello"),
    });
    assertEquals(response.status, 201);
    const { task } = await response.json();
    assertEquals(task.priority, 7);
    assertEquals(task.payload, { $bytes: btoa("hello hello hello hello") });
    const done = await requestJson(`${svc.url}/api/tasks/${task.id}/wait`);
    const finished = taskOf(done.body);
    assertEquals(finished.status, "succeeded");
    assertEquals(finished.payload, { $bytes: btoa("hello hello hello hello") });
    assert(typeof (finished.result as Json).$bytes === "string");

    const missingType = await fetch(`${svc.url}/api/tasks`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array([1, 2, 3]),
    });
    assertEquals(missingType.status, 400);
    assertEquals((await missingType.json()).error.field, "type");
  } finally {
    await svc.close();
  }
});

Deno.test("POST /api/tasks refuses bad input with 400 naming the field", async () => {
  const svc = await startService();
  try {
    const cases: [unknown, string, string][] = [
      [{ type: "fib", priority: "abc" }, "priority", "validation_error"],
      [{ type: "fib", priority: 11 }, "priority", "validation_error"],
      [{ type: "fib", priority: 0 }, "priority", "validation_error"],
      [{ type: "fib", priority: 2.5 }, "priority", "validation_error"],
      [{ type: 42 }, "type", "validation_error"],
      [{}, "type", "validation_error"],
      [{ type: "fib", prio: 3 }, "prio", "validation_error"],
      [{ type: "fib", timeoutMs: -1 }, "timeoutMs", "validation_error"],
      [{ type: "no-such-type" }, "type", "unknown_task_type"],
      [[1, 2], "body", "validation_error"],
    ];
    for (const [body, field, code] of cases) {
      const answer = await requestJson(`${svc.url}/api/tasks`, { method: "POST", body });
      assertEquals(answer.status, 400, JSON.stringify(body));
      assertEquals(errorOf(answer.body).field, field, JSON.stringify(body));
      assertEquals(errorOf(answer.body).code, code, JSON.stringify(body));
      assert(errorOf(answer.body).message.endsWith("."), errorOf(answer.body).message);
    }
    const priority = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: { type: "fib", priority: "abc" },
    });
    assertEquals(
      errorOf(priority.body).message,
      'Priority must be an integer from 1 to 10: received "abc".',
    );

    const invalidJson = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: "{not json",
    });
    assertEquals(invalidJson.status, 400);
    assertEquals(errorOf(invalidJson.body).code, "invalid_json");

    const textBody = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: "type=fib",
      headers: { "content-type": "text/plain" },
    });
    assertEquals(textBody.status, 415);
    assertEquals(errorOf(textBody.body).code, "unsupported_media_type");

    // Nothing half-created: every refused submit left no task behind.
    const stats = await svc.engine.stats();
    assertEquals(Object.values(stats.counts).reduce((sum, n) => sum + n, 0), 0);
  } finally {
    await svc.close();
  }
});

Deno.test("a body over --max-body is refused with 413, declared or chunked", async () => {
  const svc = await startService({ args: ["--max-body", "1KiB"] });
  try {
    const big = JSON.stringify({ type: "noop", payload: "x".repeat(2000) });
    const declared = await requestJson(`${svc.url}/api/tasks`, { method: "POST", body: big });
    assertEquals(declared.status, 413);
    assertEquals(errorOf(declared.body).code, "payload_too_large");

    const chunks = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < chunks.length; i += 100) controller.enqueue(chunks.slice(i, i + 100));
        controller.close();
      },
    });
    const chunked = await fetch(`${svc.url}/api/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    assertEquals(chunked.status, 413);
    assertEquals((await chunked.json()).error.code, "payload_too_large");

    const small = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: { type: "noop", payload: "fits" },
    });
    assertEquals(small.status, 201);
  } finally {
    await svc.close();
  }
});

Deno.test("a full queue answers 429 with Retry-After", async () => {
  const svc = await startService({ args: ["--max-queued", "2"], engine: { maxQueued: 2 } });
  try {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const answer = await requestJson(`${svc.url}/api/tasks`, {
        method: "POST",
        body: { type: "sleep", payload: { ms: 2000 } },
      });
      statuses.push(answer.status);
      if (answer.status === 429) {
        retryAfter = answer.headers.get("retry-after");
        assertEquals(errorOf(answer.body).code, "queue_full");
      }
    }
    assert(statuses.includes(429), statuses.join(","));
    assert(retryAfter !== null && Number(retryAfter) >= 1);
  } finally {
    await svc.close();
  }
});

Deno.test("POST /api/tasks/batch is all or nothing and names the bad item", async () => {
  const svc = await startService();
  try {
    const tasks = Array.from({ length: 50 }, (_, i) => ({ type: "noop", payload: i }));
    const created = await requestJson(`${svc.url}/api/tasks/batch`, {
      method: "POST",
      body: { tasks },
    });
    assertEquals(created.status, 201);
    assertEquals((created.body.tasks as Json[]).length, 50);

    const bad = [...tasks];
    bad[3] = { type: "noop", payload: 3, priority: 99 } as never;
    const refused = await requestJson(`${svc.url}/api/tasks/batch`, {
      method: "POST",
      body: { tasks: bad },
    });
    assertEquals(refused.status, 400);
    assertEquals(errorOf(refused.body).field, "tasks[3].priority");

    const unknownType = [...tasks];
    unknownType[7] = { type: "nope" } as never;
    const refusedType = await requestJson(`${svc.url}/api/tasks/batch`, {
      method: "POST",
      body: { tasks: unknownType },
    });
    assertEquals(refusedType.status, 400);
    assertEquals(errorOf(refusedType.body).field, "tasks[7].type");

    const tooMany = await requestJson(`${svc.url}/api/tasks/batch`, {
      method: "POST",
      body: { tasks: Array.from({ length: 10_001 }, () => ({ type: "noop" })) },
      headers: {},
    });
    assert(tooMany.status === 400 || tooMany.status === 413, String(tooMany.status));

    const empty = await requestJson(`${svc.url}/api/tasks/batch`, {
      method: "POST",
      body: { tasks: [] },
    });
    assertEquals(empty.status, 400);
    assertEquals(errorOf(empty.body).field, "tasks");

    const stats = await svc.engine.stats();
    assertEquals(Object.values(stats.counts).reduce((sum, n) => sum + n, 0), 50);
  } finally {
    await svc.close();
  }
});

Deno.test("GET /api/tasks filters and pages with cursors", async () => {
  const svc = await startService();
  try {
    const tasks = Array.from({ length: 25 }, (_, i) => ({
      type: "noop",
      payload: i,
      priority: i % 2 === 0 ? 2 : 8,
    }));
    await requestJson(`${svc.url}/api/tasks/batch`, { method: "POST", body: { tasks } });
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `priority=8&limit=5${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await requestJson(`${svc.url}/api/tasks?${query}`);
      assertEquals(page.status, 200);
      for (const task of page.body.tasks as Json[]) {
        assertEquals(task.priority, 8);
        seen.add(task.id as string);
      }
      cursor = page.body.nextCursor as string | null;
      pages++;
    } while (cursor !== null && pages < 10);
    assertEquals(seen.size, 12);

    for (
      const [query, field] of [
        ["status=bogus", "status"],
        ["priority=11", "priority"],
        ["limit=0", "limit"],
        ["limit=5000", "limit"],
        ["cursor=!!!", "cursor"],
      ]
    ) {
      const answer = await requestJson(`${svc.url}/api/tasks?${query}`);
      assertEquals(answer.status, 400, query);
      assertEquals(errorOf(answer.body).field, field, query);
    }
    const byStatus = await requestJson(`${svc.url}/api/tasks?status=queued,running,succeeded`);
    assertEquals(byStatus.status, 200);
  } finally {
    await svc.close();
  }
});

Deno.test("unknown task ids answer 404; cancel and retry answer 409 when not allowed", async () => {
  const svc = await startService();
  try {
    const id = "01a213b1-ede8-768a-9564-6b4ffa82da50";
    for (
      const [method, path] of [
        ["GET", `/api/tasks/${id}`],
        ["GET", `/api/tasks/${id}/wait`],
        ["POST", `/api/tasks/${id}/cancel`],
        ["POST", `/api/tasks/${id}/retry`],
      ]
    ) {
      const answer = await requestJson(`${svc.url}${path}`, { method });
      assertEquals(answer.status, 404, path);
      assertEquals(errorOf(answer.body).code, "task_not_found");
    }

    const created = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: { type: "noop" },
    });
    const taskId = taskOf(created.body).id;
    await requestJson(`${svc.url}/api/tasks/${taskId}/wait`);
    const cancelDone = await requestJson(`${svc.url}/api/tasks/${taskId}/cancel`, {
      method: "POST",
    });
    assertEquals(cancelDone.status, 409);
    assertEquals(errorOf(cancelDone.body).code, "task_conflict");
    const retryDone = await requestJson(`${svc.url}/api/tasks/${taskId}/retry`, {
      method: "POST",
    });
    assertEquals(retryDone.status, 409);
  } finally {
    await svc.close();
  }
});

Deno.test("cancel a scheduled task, then retry it back into the queue", async () => {
  const svc = await startService();
  try {
    const created = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: { type: "noop", delayMs: 60_000 },
    });
    const task = taskOf(created.body);
    assertEquals(task.status, "scheduled");
    const cancelled = await requestJson(`${svc.url}/api/tasks/${task.id}/cancel`, {
      method: "POST",
    });
    assertEquals(cancelled.status, 200);
    assertEquals(taskOf(cancelled.body).status, "cancelled");
    const retried = await requestJson(`${svc.url}/api/tasks/${task.id}/retry`, {
      method: "POST",
    });
    assertEquals(retried.status, 200);
    assert(["queued", "running", "succeeded"].includes(taskOf(retried.body).status as string));
    const done = await requestJson(`${svc.url}/api/tasks/${task.id}/wait`);
    assertEquals(taskOf(done.body).status, "succeeded");
  } finally {
    await svc.close();
  }
});

Deno.test("GET /api/tasks/:id/wait answers 408 with the task when it does not end in time", async () => {
  const svc = await startService();
  try {
    const created = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: { type: "sleep", payload: { ms: 5000 } },
    });
    const id = taskOf(created.body).id;
    const answer = await requestJson(`${svc.url}/api/tasks/${id}/wait?timeoutMs=50`);
    assertEquals(answer.status, 408);
    assertEquals(errorOf(answer.body).code, "wait_timeout");
    assertEquals(taskOf(answer.body).id, id);
    const tooLong = await requestJson(`${svc.url}/api/tasks/${id}/wait?timeoutMs=999999`);
    assertEquals(tooLong.status, 400);
    assertEquals(errorOf(tooLong.body).field, "timeoutMs");
    await requestJson(`${svc.url}/api/tasks/${id}/cancel`, { method: "POST" });
  } finally {
    await svc.close();
  }
});

Deno.test("stats, workers, task types, health, ready, metrics and the OpenAPI document", async () => {
  const svc = await startService();
  try {
    await requestJson(`${svc.url}/api/tasks`, { method: "POST", body: { type: "noop" } });
    const stats = await requestJson(`${svc.url}/api/stats`);
    assertEquals(stats.status, 200);
    assertEquals((stats.body.stats as Json).nodeId, svc.engine.nodeId);

    const workers = await requestJson(`${svc.url}/api/workers`);
    assertEquals((workers.body.workers as Json[]).length, 2);
    const nodes = workers.body.nodes as { nodeId: string; workers: Json[] }[];
    assertEquals(nodes.map((node) => node.nodeId), [svc.engine.nodeId]);
    assertEquals(nodes[0].workers.length, 2);

    const types = await requestJson(`${svc.url}/api/task-types`);
    const names = (types.body.taskTypes as Json[]).map((type) => type.name);
    for (const name of ["noop", "sleep", "fib", "primes", "sha256", "gzip"]) {
      assert(names.includes(name), name);
    }

    const health = (await requestJson(`${svc.url}/health`)).body;
    assertEquals(health.status, "ok");
    assertEquals(health.http_port, Number(new URL(svc.url).port));
    assertEquals(health.version, VERSION);
    assert(Number.isInteger(health.uptime), String(health.uptime));
    assertEquals((await requestJson(`${svc.url}/ready`)).status, 200);

    const metrics = await fetch(`${svc.url}/metrics`);
    assertEquals(metrics.status, 200);
    assert(metrics.headers.get("content-type")!.startsWith("text/plain"));
    const text = await metrics.text();
    for (
      const needle of [
        'threadflow_tasks{status="queued"}',
        'threadflow_queue_depth{priority="10"}',
        "threadflow_task_wait_seconds_bucket",
        "threadflow_task_run_seconds_count",
        "threadflow_worker_restarts_total",
        'threadflow_http_requests_total{method="POST",route="/api/tasks",status="201"} 1',
        "threadflow_websocket_clients 0",
      ]
    ) {
      assert(text.includes(needle), needle);
    }

    const doc = await requestJson(`${svc.url}/api/openapi.json`);
    assertEquals(doc.status, 200);
    const paths = Object.keys(doc.body.paths as Json);
    for (
      const path of [
        "/api/tasks",
        "/api/tasks/batch",
        "/api/tasks/{id}",
        "/api/tasks/{id}/wait",
        "/api/tasks/{id}/cancel",
        "/api/tasks/{id}/retry",
        "/api/stats",
        "/api/workers",
        "/api/task-types",
        "/health",
        "/ready",
        "/metrics",
      ]
    ) {
      assert(paths.includes(path), path);
    }

    const tasksPath = (doc.body.paths as Record<string, Json>)["/api/tasks"];
    assert("post" in tasksPath && "get" in tasksPath);
    const submitBody = ((tasksPath.post as Json).requestBody as Json).content as Json;
    assert("application/json" in submitBody && "application/octet-stream" in submitBody);

    const missing = await requestJson(`${svc.url}/no/such/route`);
    assertEquals(missing.status, 404);
    assertEquals(errorOf(missing.body).code, "not_found");

    svc.service.drain();
    const draining = await requestJson(`${svc.url}/ready`);
    assertEquals(draining.status, 503);
    assertEquals((await requestJson(`${svc.url}/health`)).status, 200);
  } finally {
    await svc.close();
  }
});

Deno.test("with --token every /api call needs Authorization: Bearer", async () => {
  const svc = await startService({ args: ["--token", "s3cret-token"] });
  try {
    const missing = await requestJson(`${svc.url}/api/stats`);
    assertEquals(missing.status, 401);
    assertEquals(errorOf(missing.body).code, "unauthorized");
    const wrong = await requestJson(`${svc.url}/api/stats`, {
      headers: { authorization: "Bearer nope" },
    });
    assertEquals(wrong.status, 401);
    const right = await requestJson(`${svc.url}/api/stats`, {
      headers: { authorization: "Bearer s3cret-token" },
    });
    assertEquals(right.status, 200);
    const submit = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: { type: "noop" },
    });
    assertEquals(submit.status, 401);
    const legacy = await requestJson(`${svc.url}/submit`, {
      method: "POST",
      body: { data: 1, priority: 1 },
    });
    assertEquals(legacy.status, 401);
    assertEquals((await requestJson(`${svc.url}/health`)).status, 200);
    const stats = await svc.engine.stats();
    assertEquals(Object.values(stats.counts).reduce((sum, n) => sum + n, 0), 0);
  } finally {
    await svc.close();
  }
});

Deno.test("CORS answers preflights for allowed origins only", async () => {
  const svc = await startService({ args: ["--cors-origin", "http://localhost:3000"] });
  try {
    const allowed = await fetch(`${svc.url}/api/tasks`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:3000", "access-control-request-method": "POST" },
    });
    await allowed.body?.cancel();
    assertEquals(allowed.status, 204);
    assertEquals(allowed.headers.get("access-control-allow-origin"), "http://localhost:3000");
    const other = await fetch(`${svc.url}/api/tasks`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
    });
    await other.body?.cancel();
    assertEquals(other.headers.get("access-control-allow-origin"), null);
    const simple = await requestJson(`${svc.url}/api/stats`, {
      headers: { origin: "http://localhost:3000" },
    });
    assertEquals(simple.headers.get("access-control-allow-origin"), "http://localhost:3000");
  } finally {
    await svc.close();
  }
});

Deno.test("malformed requests never crash the server", async () => {
  const svc = await startService();
  try {
    const bodies = [
      "",
      "null",
      "[]",
      '{"type":null}',
      '{"type":"noop","payload":' + "[".repeat(5000) + "]".repeat(5000) + "}",
      '{"tasks":"x"}',
      "\u0000\u0001",
    ];
    for (const body of bodies) {
      for (const path of ["/api/tasks", "/api/tasks/batch", "/submit"]) {
        const response = await fetch(`${svc.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        await response.body?.cancel();
        assert(response.status < 500 || response.status === 503, `${path} ${body.slice(0, 20)}`);
      }
    }
    assertEquals((await requestJson(`${svc.url}/health`)).status, 200);
  } finally {
    await svc.close();
  }
});

Deno.test("draining ends long polls with 503 and the task as it stands", async () => {
  const svc = await startService();
  try {
    const created = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: { type: "sleep", payload: { ms: 10_000 } },
    });
    const id = taskOf(created.body).id;
    const waiting = requestJson(`${svc.url}/api/tasks/${id}/wait?timeoutMs=60000`);
    // Let the long poll reach the engine before draining.
    while ((await svc.engine.get(id as string))?.status !== "running") {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    svc.service.drain();
    const answer = await waiting;
    assertEquals(answer.status, 503);
    assertEquals(errorOf(answer.body).code, "closed");
    assertEquals(taskOf(answer.body).id, id);
    await svc.engine.cancel(id as string);
  } finally {
    await svc.close();
  }
});
