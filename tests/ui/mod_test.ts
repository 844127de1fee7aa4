import { OpenAPIHono } from "@hono/zod-openapi";
import { ThreadFlow } from "../../mod.ts";
import { acceptsHtml, routePattern } from "../../server/ui/mod.ts";
import { registerDashboard } from "../../server/dashboard.ts";
import type { AppEnv } from "../../server/app_env.ts";
import { assert, assertEquals, assertNotIncludes, assertStringIncludes } from "./_assert.ts";

const HTML = { accept: "text/html" };

async function withUi(
  fn: (app: OpenAPIHono<AppEnv>, tf: ThreadFlow) => Promise<void>,
  config: { token?: string } = {},
): Promise<void> {
  const tf = await ThreadFlow.start({ workers: 1 });
  try {
    const app = new OpenAPIHono<AppEnv>();
    registerDashboard(app, { engine: tf, config });
    await fn(app, tf);
  } finally {
    await tf.close({ drainMs: 0 });
  }
}

Deno.test("a route file's name gives its pattern, Fresh style", () => {
  assertEquals(routePattern("index.tsx"), "/");
  assertEquals(routePattern("tasks/index.tsx"), "/tasks");
  assertEquals(routePattern("tasks/[id].tsx"), "/tasks/:id");
});

Deno.test("GET / renders counts, queue, workers and the newest tasks from the engine", async () => {
  await withUi(async (app, tf) => {
    const task = await tf.submit({ type: "noop", payload: { hello: "page" }, priority: 7 });
    await tf.wait(task.id);
    const res = await app.request("/", { headers: HTML });
    assertEquals(res.status, 200);
    assertStringIncludes(res.headers.get("content-type") ?? "", "text/html");
    const csp = res.headers.get("content-security-policy") ?? "";
    assertStringIncludes(csp, "script-src 'self'");
    assertStringIncludes(csp, "default-src 'self'");
    const html = await res.text();
    assert(html.startsWith("<!DOCTYPE html>"));
    assertStringIncludes(html, "<title>Overview · ThreadFlow</title>");
    assertStringIncludes(html, `data-counter="succeeded">1<`);
    assertStringIncludes(html, task.id.slice(-12));
    assertStringIncludes(html, `data-worker="0"`);
    assertStringIncludes(html, `value="sleep"`);
    for (const name of ["NodeInfo", "LiveCounters", "QueueDepth", "HistoryCharts", "WorkerGrid"]) {
      assertStringIncludes(html, `data-island="${name}"`);
    }
    // The charts come from the history, with axes; five minutes unless asked for the hour.
    assertStringIncludes(html, `data-window="300"`);
    assertStringIncludes(html, "−5 min");
    assertStringIncludes(html, `class="auth-off"`);
    const hour = await (await app.request("/?window=3600", { headers: HTML })).text();
    assertStringIncludes(hour, `data-window="3600"`);
    assertStringIncludes(hour, "−1 h");
    const odd = await (await app.request("/?window=7", { headers: HTML })).text();
    assertStringIncludes(odd, `data-window="300"`);
    // Nothing from elsewhere: no external scripts, styles or fonts.
    assertNotIncludes(html, "http://");
    assertNotIncludes(html, "https://");
    assertNotIncludes(html, "style=");
  });
});

Deno.test("GET /tasks filters by status, type and priority, and pages by cursor", async () => {
  await withUi(async (app, tf) => {
    const made = [];
    for (let i = 0; i < 55; i++) {
      made.push(await tf.submit({ type: "noop", payload: i, priority: i < 3 ? 9 : 2 }));
    }
    await Promise.all(made.map((t) => tf.wait(t.id)));
    const all = await (await app.request("/tasks", { headers: HTML })).text();
    assertEquals(all.match(/<tr role="row" data-task=/g)?.length, 50);
    const cursor = /href="\/tasks\?cursor=([^"]+)"/.exec(all)?.[1];
    assert(cursor, "the first page links to the next");
    const second = await (await app.request(`/tasks?cursor=${cursor}`, { headers: HTML })).text();
    assertEquals(second.match(/<tr role="row" data-task=/g)?.length, 5);
    assertStringIncludes(second, "First page");

    const p9 = await (await app.request("/tasks?priority=9&status=succeeded&type=noop", {
      headers: HTML,
    })).text();
    assertEquals(p9.match(/<tr role="row" data-task=/g)?.length, 3);
    assertStringIncludes(p9, `<option value="9" selected`);
    const none = await (await app.request("/tasks?status=failed", { headers: HTML })).text();
    assertStringIncludes(none, "No tasks match.");
  });
});

Deno.test("GET /tasks explains a bad filter or cursor instead of failing", async () => {
  await withUi(async (app) => {
    const bad = await app.request("/tasks?status=lost&priority=11", { headers: HTML });
    assertEquals(bad.status, 200);
    const html = await bad.text();
    assertStringIncludes(html, "Status must be one of");
    assertStringIncludes(html, "Priority must be an integer from 1 to 10");
    const cursor = await app.request("/tasks?cursor=not-a-cursor", { headers: HTML });
    assert(cursor.status === 200 || cursor.status === 400, `status ${cursor.status}`);
    assertStringIncludes(await cursor.text(), "<h1>Tasks</h1>");
  });
});

Deno.test("GET /tasks without an HTML Accept header is left to other routes", async () => {
  await withUi(async (app) => {
    app.get("/tasks", (c) => c.json({ tasks: 0 }));
    const res = await app.request("/tasks");
    assertEquals(await res.json(), { tasks: 0 });
    assertEquals(acceptsHtml("text/html,application/xhtml+xml"), true);
    assertEquals(acceptsHtml("*/*"), false);
  });
});

Deno.test("GET /tasks/:id shows payload, result, bytes as hex, error with stack", async () => {
  await withUi(async (app, tf) => {
    const ok = await tf.submit({ type: "fib", payload: { n: 10 } });
    await tf.wait(ok.id);
    const html = await (await app.request(`/tasks/${ok.id}`, { headers: HTML })).text();
    assertStringIncludes(html, `data-island="TaskDetail"`);
    assertStringIncludes(html, "succeeded");
    assertStringIncludes(html, "&quot;n&quot;: 10");
    assertStringIncludes(html, ">55<");

    const bytes = await tf.submit({
      type: "noop",
      payload: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
    });
    await tf.wait(bytes.id);
    const bytesHtml = await (await app.request(`/tasks/${bytes.id}`, { headers: HTML })).text();
    assertStringIncludes(bytesHtml, "4 B of bytes");
    assertStringIncludes(bytesHtml, "de ad be ef");

    const bad = await tf.submit({ type: "fib", payload: { n: "not a number" } });
    const failed = await tf.wait(bad.id);
    assertEquals(failed.status, "failed");
    const badHtml = await (await app.request(`/tasks/${bad.id}`, { headers: HTML })).text();
    assertStringIncludes(badHtml, `class="error-box"`);
    assertStringIncludes(badHtml, failed.error!.name);
  });
});

Deno.test("GET /tasks/:id answers 404 with a page for an unknown id", async () => {
  await withUi(async (app) => {
    const res = await app.request("/tasks/0192c0de-0000-7000-8000-000000000000", { headers: HTML });
    assertEquals(res.status, 404);
    assertStringIncludes(await res.text(), "No task has the id");
  });
});

Deno.test("GET /types renders each type's figures and hydrates only its controls", async () => {
  await withUi(async (app, tf) => {
    const bad = await tf.submit({ type: "fib", payload: { n: "x" } });
    await tf.wait(bad.id);
    await tf.pauseType("gzip");
    const html = await (await app.request("/types", { headers: HTML })).text();
    assertStringIncludes(html, `<li class="type-card" data-type="fib">`);
    assertStringIncludes(html, `href="/tasks?type=fib&amp;status=failed"`);
    assertStringIncludes(html, "100 % (1 of 1 attempts)");
    assertStringIncludes(html, `href="/tasks/${bad.id}"`);
    assertStringIncludes(html, "Web Worker; no permissions");
    assertEquals(html.match(/data-island="TypeControls"/g)?.length, tf.taskTypes().length);
    assertEquals(html.match(/class="pill pill-paused"/g)?.length, 1);
  });
});

Deno.test("GET /tasks searches by id, sorts, and says how many match", async () => {
  await withUi(async (app, tf) => {
    const tasks = await tf.submitBatch(
      [3, 9, 5].map((priority) => ({ type: "noop", priority, delayMs: 600_000 })),
    );
    const rows = (html: string) =>
      [...html.matchAll(/<tr role="row" data-task="([^"]+)"/g)].map((m) => m[1]);
    const sorted = await (await app.request("/tasks?sort=priority", { headers: HTML })).text();
    assertEquals(rows(sorted), [tasks[1].id, tasks[2].id, tasks[0].id]);
    assertStringIncludes(sorted, `<option value="priority" selected`);
    assertStringIncludes(sorted, `data-total="3"`);
    const found =
      await (await app.request(`/tasks?id=${tasks[2].id.slice(0, 33)}`, { headers: HTML }))
        .text();
    assertEquals(rows(found), [tasks[2].id]);
    assertStringIncludes(found, `data-total="1"`);
    const bad = await (await app.request("/tasks?id=nope&sort=fastest", { headers: HTML })).text();
    assertStringIncludes(bad, "Search by id takes an id or its start");
    assertStringIncludes(bad, "Sort must be one of created, priority, runTime");
  });
});

Deno.test("GET /tasks/:id lists parents and children; /tasks/:id/retry fills the submit form", async () => {
  await withUi(async (app, tf) => {
    const parent = await tf.submit({ type: "fib", payload: { n: "x" }, maxAttempts: 2 });
    const child = await tf.submit({ type: "noop", dependsOn: [parent.id] });
    await tf.wait(parent.id);
    const parentHtml = await (await app.request(`/tasks/${parent.id}`, { headers: HTML })).text();
    assertStringIncludes(parentHtml, `aria-label="Dependents"`);
    assertStringIncludes(parentHtml, `data-task="${child.id}"`);
    assertEquals(parentHtml.match(/data-outcome="failed"/g)?.length, 2);
    assertStringIncludes(parentHtml, `href="/tasks/${parent.id}/retry"`);
    const childHtml = await (await app.request(`/tasks/${child.id}`, { headers: HTML })).text();
    assertStringIncludes(childHtml, `aria-label="Depends on"`);
    assertStringIncludes(childHtml, `data-task="${parent.id}"`);
    const retry = await (await app.request(`/tasks/${parent.id}/retry`, { headers: HTML })).text();
    assertStringIncludes(retry, `data-island="SubmitPanel"`);
    assertStringIncludes(retry, "&quot;n&quot;: &quot;x&quot;");
    const later = await tf.submit({ type: "noop", delayMs: 600_000 });
    const waiting = await (await app.request(`/tasks/${later.id}/retry`, { headers: HTML })).text();
    assertStringIncludes(waiting, "This task is scheduled: only a failed or cancelled task");
    assertNotIncludes(waiting, `data-island="SubmitPanel"`);
    const missing = await app.request("/tasks/0192c0de-0000-7000-8000-000000000000/retry", {
      headers: HTML,
    });
    assertEquals(missing.status, 404);
    await missing.body?.cancel();
  });
});

Deno.test("with a token, pages hold no data until the browser presents it", async () => {
  await withUi(async (app, tf) => {
    const task = await tf.submit({ type: "noop", payload: "secret-payload" });
    await tf.wait(task.id);
    const locked = await app.request(`/tasks/${task.id}`, { headers: HTML });
    assertEquals(locked.status, 401);
    const lockedHtml = await locked.text();
    assertStringIncludes(lockedHtml, "Token required");
    assertNotIncludes(lockedHtml, "secret-payload");
    const wrong = await app.request(`/tasks/${task.id}`, {
      headers: { ...HTML, cookie: "tf_token=nope" },
    });
    assertEquals(wrong.status, 401);
    await wrong.body?.cancel();
    const open = await app.request(`/tasks/${task.id}`, {
      headers: { ...HTML, cookie: "other=1; tf_token=s3cret%21" },
    });
    assertEquals(open.status, 200);
    const page = await open.text();
    assertStringIncludes(page, "secret-payload");
    // With a token the header does not say "auth off".
    assertNotIncludes(page, `class="auth-off"`);
  }, { token: "s3cret!" });
});

Deno.test("static files are served with a content hash and long-lived caching", async () => {
  await withUi(async (app) => {
    const html = await (await app.request("/", { headers: HTML })).text();
    const href = /href="(\/static\/styles\.css\?v=[0-9a-f]{12})"/.exec(html)?.[1];
    assert(href, "the page links the stylesheet with its hash");
    const css = await app.request(href);
    assertEquals(css.status, 200);
    assertEquals(css.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assertStringIncludes(css.headers.get("content-type") ?? "", "text/css");
    assertStringIncludes(await css.text(), "prefers-color-scheme: dark");
    const unversioned = await app.request("/static/styles.css");
    assertEquals(unversioned.headers.get("cache-control"), "no-cache");
    const etag = unversioned.headers.get("etag")!;
    await unversioned.body?.cancel();
    const again = await app.request("/static/styles.css", { headers: { "if-none-match": etag } });
    assertEquals(again.status, 304);
    for (const path of ["/static/nope.css", "/static/..%2Fdeno.json", "/islands/..%2Fx.js"]) {
      const res = await app.request(path);
      assertEquals(res.status, 404, path);
      await res.body?.cancel();
    }
  });
});

Deno.test("a page answers 503 with HTML while the engine's store is unavailable", async () => {
  const { StoreUnavailableError } = await import("../../engine/model/errors.ts");
  const failing = {
    nodeId: "n",
    state: "running",
    stats: () => Promise.reject(new StoreUnavailableError("The store cannot be reached.")),
    list: () => Promise.reject(new StoreUnavailableError("The store cannot be reached.")),
    get: () => Promise.reject(new StoreUnavailableError("The store cannot be reached.")),
    dependents: () => Promise.reject(new StoreUnavailableError("The store cannot be reached.")),
    typeStats: () => Promise.reject(new StoreUnavailableError("The store cannot be reached.")),
    workers: () => [],
    taskTypes: () => [],
    typeControls: () => [],
    schedules: {
      list: () => Promise.reject(new StoreUnavailableError("The store cannot be reached.")),
    },
  };
  const app = new OpenAPIHono<AppEnv>();
  registerDashboard(app, { engine: failing, config: {} });
  const res = await app.request("/", { headers: HTML });
  assertEquals(res.status, 503);
  assertStringIncludes(await res.text(), "The store cannot be reached.");
  const types = await app.request("/types", { headers: HTML });
  assertEquals(types.status, 503);
  await types.body?.cancel();
  const logged: string[] = [];
  const broken = { ...failing, get: () => Promise.reject(new TypeError("bug")) };
  const app2 = new OpenAPIHono<AppEnv>();
  registerDashboard(app2, {
    engine: broken,
    config: {},
    logger: { error: (message) => logged.push(message) },
  });
  const res2 = await app2.request("/tasks/x", { headers: HTML });
  assertEquals(res2.status, 500);
  assertNotIncludes(await res2.text(), "bug");
  assertEquals(logged, ["A dashboard page failed to render."]);
});

Deno.test("pages follow a rebuild of the island bundles while the server runs", async () => {
  const { build } = await import("../../scripts/build.ts");
  const dir = await Deno.makeTempDir({ prefix: "tf-ui-rebuild-" });
  const tf = await ThreadFlow.start({ workers: 1 });
  try {
    const islandsDir = new URL(`file://${dir}/islands/`);
    const app = new OpenAPIHono<AppEnv>();
    registerDashboard(app, { engine: tf, config: {} }, { islandsDir });
    const before = await (await app.request("/", { headers: HTML })).text();
    assertStringIncludes(before, "run `deno task build`");
    const { manifest } = await build({ outDir: islandsDir });
    const after = await (await app.request("/", { headers: HTML })).text();
    assertStringIncludes(after, `src="/islands/${manifest.boot}"`);
    const bundle = await app.request(`/islands/${manifest.islands.LiveCounters}`);
    assertEquals(bundle.status, 200);
    assertEquals(bundle.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assertStringIncludes(bundle.headers.get("content-type") ?? "", "text/javascript");
    await bundle.body?.cancel();
  } finally {
    await tf.close({ drainMs: 0 });
    await Deno.remove(dir, { recursive: true });
  }
});
