import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { requestJson, startService } from "./_service.ts";

type Json = Record<string, unknown>;

/** Where the original Next.js client is served from: another origin than the service. */
const CLIENT_ORIGIN = "http://localhost:3000";

/**
 * Fetches as a browser on {@linkcode CLIENT_ORIGIN} would: a preflight first
 * when the request is not a simple one, and the answer refused unless CORS
 * allows the origin.
 */
async function browserFetch(
  url: string,
  init: { method?: string; json?: unknown } = {},
): Promise<{ status: number; body: Json }> {
  const method = init.method ?? "GET";
  const headers: Record<string, string> = { origin: CLIENT_ORIGIN };
  if (init.json !== undefined) {
    // application/json is not a "simple" content type: the browser asks first.
    const preflight = await fetch(url, {
      method: "OPTIONS",
      headers: {
        origin: CLIENT_ORIGIN,
        "access-control-request-method": method,
        "access-control-request-headers": "content-type",
      },
    });
    await preflight.body?.cancel();
    assert(preflight.ok, `preflight of ${method} ${url}: ${preflight.status}`);
    assertAllowed(preflight.headers, `preflight of ${method} ${url}`);
    const methods = preflight.headers.get("access-control-allow-methods") ?? "";
    assert(methods.includes(method), `preflight allows ${methods}, not ${method}`);
    const allowHeaders = (preflight.headers.get("access-control-allow-headers") ?? "")
      .toLowerCase();
    assert(allowHeaders.includes("content-type"), allowHeaders);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(url, {
    method,
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const body = await response.json();
  assertAllowed(response.headers, `${method} ${url}`);
  return { status: response.status, body };
}

function assertAllowed(headers: Headers, what: string): void {
  const allowed = headers.get("access-control-allow-origin");
  assert(allowed === "*" || allowed === CLIENT_ORIGIN, `${what}: a browser would refuse it`);
}

Deno.test("the original client's sequence: preflight, submit, poll since=<last id>, every task completes", async () => {
  // The operator lets the client's origin submit, as the original allowed its own client.
  const svc = await startService({ args: ["--cors-origin", CLIENT_ORIGIN] });
  try {
    const health = await browserFetch(`${svc.url}/health`);
    assertEquals(health.body.status, "ok");

    const submitted: string[] = [];
    for (const priority of [1, 10, 5, 3, 8]) {
      const answer = await browserFetch(`${svc.url}/submit`, {
        method: "POST",
        json: { data: `job ${priority}`, priority },
      });
      assertEquals(answer.status, 200);
      assertEquals(answer.body.status, "success");
      submitted.push(answer.body.task_id as string);
    }

    // The client keeps the newest completed id and sends it back as `since`.
    const seen = new Set<string>();
    let lastId = "0";
    const deadline = Date.now() + 30_000;
    while (seen.size < submitted.length && Date.now() < deadline) {
      const poll = await browserFetch(`${svc.url}/completed_tasks?since=${lastId}`);
      assertEquals(poll.status, 200);
      const tasks = poll.body.tasks as { id: string; completion_time: number }[];
      for (const task of tasks) seen.add(task.id);
      if (tasks.length > 0) lastId = tasks[0].id;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assertEquals([...seen].sort(), [...submitted].sort());
    // Nothing ended after the last one the client saw.
    assertEquals((await browserFetch(`${svc.url}/completed_tasks?since=${lastId}`)).body.tasks, []);
  } finally {
    await svc.close();
  }
});

Deno.test("/completed_tasks: whole seconds, newest first, since as time, id or anything", async () => {
  const svc = await startService();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await requestJson(`${svc.url}/api/tasks`, {
        method: "POST",
        body: { type: "noop", payload: i },
      });
      ids.push((created.body.task as Json).id as string);
      await svc.engine.wait(ids[i]);
    }
    const all = await requestJson(`${svc.url}/completed_tasks`);
    const tasks = all.body.tasks as { id: string; completion_time: number }[];
    assertEquals(tasks.map((task) => task.id), [...ids].reverse());
    for (const task of tasks) assert(Number.isInteger(task.completion_time), String(task));
    assert(Number.isInteger(all.body.server_time));

    // The original read `since` with atol: anything that is not a number meant 0, never a 400.
    for (const since of ["yesterday", "", "-5", "0", "abc123", "1e400x"]) {
      const answer = await requestJson(`${svc.url}/completed_tasks?since=${since}`);
      assertEquals(answer.status, 200, since);
      assertEquals((answer.body.tasks as Json[]).length, 3, since);
    }
    const afterFirst = await requestJson(`${svc.url}/completed_tasks?since=${ids[0]}`);
    assertEquals((afterFirst.body.tasks as Json[]).map((task) => task.id), [ids[2], ids[1]]);

    // A time in the second the tasks ended excludes them (the original's `<=`), fractions too.
    const second = tasks[0].completion_time;
    for (const since of [`${second}`, `${second}.999`]) {
      const answer = await requestJson(`${svc.url}/completed_tasks?since=${since}`);
      assert(
        (answer.body.tasks as { completion_time: number }[]).every((t) =>
          t.completion_time > second
        ),
        since,
      );
    }
    const earlier = await requestJson(
      `${svc.url}/completed_tasks?since=${tasks[2].completion_time - 1}`,
    );
    assertEquals((earlier.body.tasks as Json[]).length, 3);

    const limited = await requestJson(`${svc.url}/completed_tasks?limit=2`);
    assertEquals((limited.body.tasks as Json[]).map((task) => task.id), [ids[2], ids[1]]);
    const badLimit = await requestJson(`${svc.url}/completed_tasks?limit=5000`);
    assertEquals(badLimit.status, 400);
    assertEquals(badLimit.body, {
      error: 'limit must be an integer from 1 to 1000: received "5000".',
    });
  } finally {
    await svc.close();
  }
});

Deno.test("/completed_tasks answers at most 100 by default, the original's ring", async () => {
  const svc = await startService();
  try {
    const batch = await requestJson(`${svc.url}/api/tasks/batch`, {
      method: "POST",
      body: { tasks: Array.from({ length: 150 }, (_, i) => ({ type: "noop", payload: i })) },
    });
    const ids = (batch.body.tasks as Json[]).map((task) => task.id as string);
    await Promise.all(ids.map((id) => svc.engine.wait(id)));
    assertEquals(
      ((await requestJson(`${svc.url}/completed_tasks`)).body.tasks as Json[]).length,
      100,
    );
    const more = await requestJson(`${svc.url}/completed_tasks?limit=1000`);
    assertEquals((more.body.tasks as Json[]).length, 150);
  } finally {
    await svc.close();
  }
});

Deno.test("the original endpoints: POST /submit runs a sleep task; GET /tasks counts the queue", async () => {
  const svc = await startService();
  try {
    const submitted = await requestJson(`${svc.url}/submit`, {
      method: "POST",
      body: { data: "hello", priority: 3 },
    });
    assertEquals(submitted.status, 200);
    assertEquals(submitted.body.status, "success");
    const task = await svc.engine.get(submitted.body.task_id as string);
    assertEquals([task?.type, task?.priority], ["sleep", 3]);
    const queued = await requestJson(`${svc.url}/tasks`);
    assertEquals(queued.status, 200);
    assert(typeof queued.body.tasks === "number");
  } finally {
    await svc.close();
  }
});

Deno.test("the original endpoints' errors are { error: <message> }, as their client prints data.error", async () => {
  const svc = await startService({ args: ["--max-body", "1KiB"] });
  try {
    const badPriority = await requestJson(`${svc.url}/submit`, {
      method: "POST",
      body: { data: 1, priority: 77 },
    });
    assertEquals(badPriority.status, 400);
    assertEquals(badPriority.body, {
      error: "Priority must be an integer from 1 to 10: received 77.",
    });
    const badJson = await requestJson(`${svc.url}/submit`, { method: "POST", body: "{" });
    assertEquals([badJson.status, typeof badJson.body.error], [400, "string"]);
    const tooBig = await requestJson(`${svc.url}/submit`, {
      method: "POST",
      body: { data: "x".repeat(2048) },
    });
    assertEquals([tooBig.status, typeof tooBig.body.error], [413, "string"]);
    for (const [method, path] of [["GET", "/submit"], ["POST", "/health"], ["DELETE", "/tasks"]]) {
      const wrong = await requestJson(`${svc.url}${path}`, { method });
      assertEquals(wrong.status, 405, `${method} ${path}`);
      assert(typeof wrong.body.error === "string", JSON.stringify(wrong.body));
      assert(wrong.headers.get("allow"), `${method} ${path}`);
    }
  } finally {
    await svc.close();
  }

  const locked = await startService({ args: ["--token", "s3cret"] });
  try {
    for (const path of ["/tasks", "/completed_tasks"]) {
      const refused = await requestJson(`${locked.url}${path}`);
      assertEquals(refused.status, 401, path);
      assert(typeof refused.body.error === "string", path);
      assert(refused.headers.get("www-authenticate"), path);
    }
    const allowed = await requestJson(`${locked.url}/completed_tasks`, {
      headers: { authorization: "Bearer s3cret" },
    });
    assertEquals(allowed.status, 200);
  } finally {
    await locked.close();
  }
});

Deno.test("/health and /completed_tasks allow any origin unless --cors-origin narrows them", async () => {
  const open = await startService();
  try {
    for (const path of ["/health", "/completed_tasks"]) {
      const answer = await fetch(`${open.url}${path}`, { headers: { origin: "http://any.test" } });
      await answer.body?.cancel();
      assertEquals(answer.headers.get("access-control-allow-origin"), "*", path);
      assertEquals(answer.headers.get("access-control-allow-credentials"), null, path);
      const preflight = await fetch(`${open.url}${path}`, {
        method: "OPTIONS",
        headers: { origin: "http://any.test", "access-control-request-method": "GET" },
      });
      await preflight.body?.cancel();
      assertEquals(preflight.status, 204);
      assertEquals(preflight.headers.get("access-control-allow-origin"), "*", path);
    }
    // Writing stays closed to other origins unless --cors-origin allows them.
    const submit = await fetch(`${open.url}/submit`, {
      method: "POST",
      headers: { origin: "http://any.test", "content-type": "application/json" },
      body: "{}",
    });
    await submit.body?.cancel();
    assertEquals(submit.headers.get("access-control-allow-origin"), null);
  } finally {
    await open.close();
  }

  const narrowed = await startService({ args: ["--cors-origin", CLIENT_ORIGIN] });
  try {
    const other = await fetch(`${narrowed.url}/health`, { headers: { origin: "http://any.test" } });
    await other.body?.cancel();
    assertEquals(other.headers.get("access-control-allow-origin"), null);
    const client = await fetch(`${narrowed.url}/health`, { headers: { origin: CLIENT_ORIGIN } });
    await client.body?.cancel();
    assertEquals(client.headers.get("access-control-allow-origin"), CLIENT_ORIGIN);
  } finally {
    await narrowed.close();
  }
});

Deno.test("GET /tasks answers JSON to API clients and the dashboard page to browsers", async () => {
  const svc = await startService();
  try {
    const json = await fetch(`${svc.url}/tasks`);
    assert(json.headers.get("content-type")!.startsWith("application/json"));
    assertEquals(await json.json(), { tasks: 0 });
    const html = await fetch(`${svc.url}/tasks`, { headers: { accept: "text/html" } });
    assertEquals(html.status, 200);
    assert(html.headers.get("content-type")!.startsWith("text/html"));
    await html.body?.cancel();
  } finally {
    await svc.close();
  }
});
