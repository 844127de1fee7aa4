import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ENDED_ANSWER_TTL_MS } from "../../server/ended_answers.ts";
import { startService } from "./_service.ts";

/** Status, headers (but the date and a fresh request id) and body of an answer. */
async function shape(response: Response): Promise<unknown> {
  const headers = [...response.headers].filter(([name, value]) =>
    name !== "date" && !(name === "x-request-id" && value !== "client-id-7")
  );
  return { status: response.status, headers, body: await response.text() };
}

/** The same request answered by the service (fast reads first) and by the whole chain alone. */
async function bothWays(
  service: {
    fetch(r: Request): Response | Promise<Response>;
    app: { fetch(r: Request): Response | Promise<Response> };
  },
  url: string,
  headers: Record<string, string> = {},
): Promise<[unknown, unknown]> {
  const fast = await shape(await service.fetch(new Request(url, { headers })));
  const chain = await shape(await service.app.fetch(new Request(url, { headers })));
  return [fast, chain];
}

Deno.test("fast reads: /health and /api/tasks/:id answer exactly as the middleware chain does", async () => {
  const svc = await startService();
  try {
    const task = await svc.engine.submit({ type: "noop", payload: { n: 1 } });
    await svc.engine.wait(task.id);
    const base = "http://127.0.0.1:8081";
    for (const path of ["/health", `/api/tasks/${task.id}`]) {
      const [fast, chain] = await bothWays(svc.service, base + path);
      assertEquals(fast, chain, path);
      const [offered, offeredChain] = await bothWays(svc.service, base + path, {
        "x-request-id": "client-id-7",
      });
      assertEquals(offered, offeredChain, `${path} with the client's request id`);
    }
    // A poll with the ETag it got: 304 both ways.
    const first = await svc.service.fetch(new Request(`${base}/api/tasks/${task.id}`));
    await first.body?.cancel();
    const etag = first.headers.get("etag")!;
    const [fast, chain] = await bothWays(svc.service, `${base}/api/tasks/${task.id}`, {
      "if-none-match": etag,
    });
    assertEquals(fast, chain);
    assertEquals((fast as { status: number }).status, 304);
    // What the fast reads leave to the chain is still answered by it.
    const missing = await svc.service.fetch(new Request(`${base}/api/tasks/no-such-task`));
    assertEquals(missing.status, 404);
    assertEquals((await missing.json()).error.field, "id");
    const cors = await svc.service.fetch(
      new Request(`${base}/health`, { headers: { origin: "http://elsewhere.example" } }),
    );
    await cors.body?.cancel();
    assertEquals(cors.headers.get("access-control-allow-origin"), "*");
    // Both ways were counted under the route's pattern: two pairs and the first poll.
    const metrics = await (await svc.service.fetch(new Request(`${base}/metrics`))).text();
    assert(
      metrics.includes(
        'threadflow_http_requests_total{method="GET",route="/api/tasks/:id",status="200"} 5',
      ),
      metrics.split("\n").filter((line) => line.includes("/api/tasks/:id")).join("\n"),
    );
    assert(metrics.includes('route="/api/tasks/:id",status="304"} 2'));
  } finally {
    await svc.close();
  }
});

Deno.test("fast reads: an ended task's kept answer goes when the task is retried", async () => {
  for (const store of ["memory", "sqlite"]) {
    const dir = await Deno.makeTempDir();
    const svc = await startService({
      engine: { store: store === "memory" ? "memory" : `sqlite:${dir}/tasks.db` },
    });
    try {
      const task = await svc.engine.submit({ type: "noop", delayMs: 60_000 });
      const read = async () => {
        const response = await svc.service.fetch(
          new Request(`http://127.0.0.1:8081/api/tasks/${task.id}`),
        );
        return { etag: response.headers.get("etag"), task: (await response.json()).task };
      };
      assertEquals((await read()).task.status, "scheduled", store);
      await svc.engine.cancel(task.id);
      const cancelled = await read();
      assertEquals(cancelled.task.status, "cancelled", store);
      assertEquals(await read(), cancelled, `${store}: read again, from the kept answer`);
      await svc.engine.retry(task.id);
      const retried = await read();
      assert(retried.task.status !== "cancelled", `${store}: ${retried.task.status}`);
      assert(retried.etag !== cancelled.etag, store);
      await svc.engine.wait(task.id);
      assertEquals((await read()).task.status, "succeeded", store);
    } finally {
      await svc.close();
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("fast reads: a task retention deleted answers 404 at once, not from its kept answer", async () => {
  for (const store of ["memory", "sqlite"]) {
    const dir = await Deno.makeTempDir();
    const svc = await startService({
      engine: {
        store: store === "memory" ? "memory" : `sqlite:${dir}/tasks.db`,
        retentionMaxFinished: 1,
      },
    });
    try {
      const read = async (id: string) =>
        (await svc.service.fetch(new Request(`http://127.0.0.1:8081/api/tasks/${id}`))).status;
      const first = await svc.engine.submit({ type: "noop" });
      await svc.engine.wait(first.id);
      const second = await svc.engine.submit({ type: "noop" });
      await svc.engine.wait(second.id);
      // The read keeps the ended task's answer; within its second only the prune can drop it.
      const kept = performance.now();
      assertEquals(await read(first.id), 200, store);
      const told: number[] = [];
      const stop = svc.engine.onPruned((deleted) => told.push(deleted));
      assertEquals(await svc.engine.prune(), 1, store);
      stop();
      assertEquals(told, [1], store);
      assertEquals(await read(first.id), 404, `${store}: deleted within the kept answer's second`);
      assert(
        performance.now() - kept < ENDED_ANSWER_TTL_MS,
        `${store}: the steps took a second, so the answer's age alone could explain the 404`,
      );
      assertEquals(await read(second.id), 200, store);
    } finally {
      await svc.close();
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("fast reads: a read racing a retry on SQLite answers the task as it was; the next read shows the retry", async () => {
  const dir = await Deno.makeTempDir();
  const svc = await startService({ engine: { store: `sqlite:${dir}/tasks.db` } });
  try {
    const task = await svc.engine.submit({ type: "noop", delayMs: 60_000 });
    await svc.engine.cancel(task.id);
    const url = `http://127.0.0.1:8081/api/tasks/${task.id}`;
    // A submit queued first makes the read wait for the store's next batch; the retry moves
    // the task (its event) while the read waits.
    const queued = svc.engine.submit({ type: "noop" });
    const reading = svc.service.fetch(new Request(url));
    const retried = svc.engine.retry(task.id);
    const first = await (await reading).json();
    await Promise.all([queued, retried]);
    assertEquals(first.task.status, "cancelled", "the read saw the task before the retry");
    const after = await (await svc.service.fetch(new Request(url))).json();
    assert(after.task.status !== "cancelled", `read after the retry: ${after.task.status}`);
  } finally {
    await svc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fast reads: with a token, a task is read only with it; without it the chain answers 401", async () => {
  const svc = await startService({ args: ["--token", "s3cret"] });
  try {
    const task = await svc.engine.submit({ type: "noop" });
    await svc.engine.wait(task.id);
    const url = `http://127.0.0.1:8081/api/tasks/${task.id}`;
    const [fast, chain] = await bothWays(svc.service, url, { authorization: "Bearer s3cret" });
    assertEquals(fast, chain);
    assertEquals((fast as { status: number }).status, 200);
    const refused = await svc.service.fetch(
      new Request(url, { headers: { authorization: "Bearer wrong" } }),
    );
    await refused.body?.cancel();
    assertEquals(refused.status, 401);
    assert(refused.headers.get("www-authenticate")?.startsWith('Bearer realm="threadflow"'));
  } finally {
    await svc.close();
  }
});

Deno.test("fast reads: a task whose answer is large enough to compress goes through the chain", async () => {
  const svc = await startService();
  try {
    const task = await svc.engine.submit({ type: "noop", payload: { text: "x".repeat(4_000) } });
    await svc.engine.wait(task.id);
    const response = await svc.service.fetch(
      new Request(`http://127.0.0.1:8081/api/tasks/${task.id}`, {
        headers: { "accept-encoding": "gzip" },
      }),
    );
    await response.body?.cancel();
    assertEquals(response.headers.get("content-encoding"), "gzip");
    assertEquals(response.headers.get("vary"), "Accept-Encoding");
  } finally {
    await svc.close();
  }
});

/** A submit answer's shape without what differs per task (ids, times, the location). */
async function submitShape(response: Response): Promise<unknown> {
  const headers = [...response.headers].filter(([name]) =>
    !["date", "x-request-id", "location", "content-length"].includes(name)
  );
  const text = await response.text();
  const body = JSON.parse(text);
  if (body.task !== undefined) {
    for (const key of ["id", "createdAt", "runAt", "updatedAt", "startedAt", "finishedAt"]) {
      delete body.task[key];
    }
  }
  return { status: response.status, headers, body };
}

Deno.test("fast submit: POST /api/tasks answers as the middleware chain does, refusals included", async () => {
  const svc = await startService({ engine: { maxQueued: 3 } });
  try {
    const post = (body: string, headers: Record<string, string> = {}) =>
      new Request("http://127.0.0.1:8081/api/tasks", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
    await svc.engine.pauseType("noop");
    const plain = '{"type":"noop","payload":{"n":1},"priority":7}';
    const fast = await svc.service.fetch(post(plain));
    assertEquals(fast.headers.get("location"), `/api/tasks/${(await fast.clone().json()).task.id}`);
    const chain = await svc.service.app.fetch(post(plain));
    assertEquals(await submitShape(fast), await submitShape(chain));
    // The engine's refusal (the queue holds 3 now) in the chain's shape, with Retry-After.
    await (await svc.service.fetch(post(plain))).body?.cancel();
    const full = await svc.service.fetch(post(plain));
    const fullChain = await svc.service.app.fetch(post(plain));
    assertEquals(full.status, 429);
    assertEquals(await submitShape(full), await submitShape(fullChain));
    // What the fast submit leaves to the chain: bad JSON, an out-of-range field.
    const broken = await svc.service.fetch(post("{not json"));
    assertEquals([broken.status, (await broken.json()).error.field], [400, "body"]);
    const badPriority = await svc.service.fetch(post('{"type":"noop","priority":11}'));
    assertEquals([badPriority.status, (await badPriority.json()).error.field], [400, "priority"]);
    const metrics = await (await svc.service.fetch(new Request("http://x/metrics"))).text();
    assert(metrics.includes('{method="POST",route="/api/tasks",status="201"} 3'));
    assert(metrics.includes('{method="POST",route="/api/tasks",status="429"} 2'));
    await svc.engine.resumeType("noop");
  } finally {
    await svc.close();
  }
});

Deno.test("fast submit: answers near the size bounds, ASCII or not, framed and compressed as the chain's", async () => {
  const svc = await startService();
  try {
    const post = (text: string, headers: Record<string, string>) =>
      new Request("http://127.0.0.1:8081/api/tasks", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ type: "noop", delayMs: 60_000, payload: { text } }),
      });
    const headersOf = (response: Response) =>
      [...response.headers].filter(([name]) =>
        !["date", "x-request-id", "location"].includes(name)
      );
    for (const text of ["", "x".repeat(200), "ü".repeat(300), "x".repeat(700), "ü".repeat(400)]) {
      for (const headers of [{}, { "accept-encoding": "gzip" }] as Record<string, string>[]) {
        const fast = await svc.service.fetch(post(text, headers));
        const chain = await svc.service.app.fetch(post(text, headers));
        const what = `${text.length} × ${text[0]} ${JSON.stringify(headers)}`;
        assertEquals(fast.status, 201, what);
        assertEquals(headersOf(fast), headersOf(chain), what);
        const bytes = new Uint8Array(await fast.arrayBuffer());
        await chain.body?.cancel();
        const chunked = fast.headers.get("transfer-encoding") === "chunked";
        assertEquals(chunked, bytes.length >= 256 && bytes.length <= 64 * 1024, what);
      }
    }
  } finally {
    await svc.close();
  }
});

Deno.test("fast submit: a byte payload type is the chain's, whatever follows its name", async () => {
  const svc = await startService();
  try {
    // The route reads `application/octet-stream…` as bytes, whatever follows.
    const post = () =>
      new Request("http://127.0.0.1:8081/api/tasks", {
        method: "POST",
        headers: { "content-type": "application/octet-stream+json" },
        body: '{"type":"noop"}',
      });
    const bytesFast = await svc.service.fetch(post());
    const bytesChain = await svc.service.app.fetch(post());
    assertEquals(await submitShape(bytesFast), await submitShape(bytesChain));
    assertEquals(bytesFast.status, 400);
  } finally {
    await svc.close();
  }
});
