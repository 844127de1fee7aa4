/**
 * HTTP by the book (RFC 9110) against a real server: HEAD lengths, 405 with
 * Allow, conditional GETs, compression, JSON errors and 401 challenges.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startService } from "./_service.ts";

type Json = Record<string, unknown>;

/** Bytes on the wire (Deno's fetch decodes bodies, but keeps the headers). */
async function exchange(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

Deno.test("HEAD answers carry the Content-Length and headers of the GET, per encoding", async () => {
  const svc = await startService();
  try {
    const created = await fetch(`${svc.url}/api/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "noop", payload: { text: "x".repeat(3000) } }),
    });
    const id = (await created.json()).task.id;
    await svc.engine.wait(id);
    for (const path of [`/api/tasks/${id}`, "/api/task-types", "/api/openapi.json", "/tasks/x"]) {
      for (const encoding of ["identity", "gzip", "br"]) {
        const headers = { "accept-encoding": encoding, accept: "application/json" };
        const get = await fetch(`${svc.url}${path}`, { headers });
        const body = new Uint8Array(await get.arrayBuffer());
        const head = await fetch(`${svc.url}${path}`, { method: "HEAD", headers });
        await head.body?.cancel();
        const what = `${path} ${encoding}`;
        assertEquals(head.status, get.status, what);
        // HEAD gives the length of the GET's body; the GET itself carries it too, or comes
        // chunked (a body Deno would otherwise write in two calls).
        const length = head.headers.get("content-length");
        assert(length !== null && Number(length) > 0, what);
        const getLength = get.headers.get("content-length");
        if (getLength === null) assertEquals(get.headers.get("transfer-encoding"), "chunked", what);
        else assertEquals(getLength, length, what);
        assertEquals(
          head.headers.get("content-encoding"),
          get.headers.get("content-encoding"),
          what,
        );
        assertEquals(head.headers.get("etag"), get.headers.get("etag"), what);
        if (get.headers.get("content-encoding") === null) assertEquals(body.length, Number(length));
      }
    }
  } finally {
    await svc.close();
  }
});

/** One HTTP exchange on its own connection, as bytes: the answer's head and the raw rest. */
async function rawExchange(port: number, request: string): Promise<{ head: string; rest: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    const text = await new Response(conn.readable).text();
    const end = text.indexOf("\r\n\r\n");
    return { head: text.slice(0, end).toLowerCase(), rest: text.slice(end + 4) };
  } catch (error) {
    conn.close();
    throw error;
  }
}

Deno.test("a task's answer goes chunked to HTTP/1.1 clients and with its length to HTTP/1.0", async () => {
  const svc = await startService();
  try {
    const port = new URL(svc.url).port;
    const body = JSON.stringify({ type: "noop" });
    const submit = await rawExchange(
      Number(port),
      `POST /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    assert(submit.head.startsWith("http/1.1 201"), submit.head);
    assert(submit.head.includes("\r\ntransfer-encoding: chunked"), submit.head);
    assert(!submit.head.includes("content-length"), submit.head);
    const size = submit.rest.indexOf("\r\n");
    const json = submit.rest.slice(size + 2, size + 2 + parseInt(submit.rest.slice(0, size), 16));
    assert(submit.rest.endsWith("\r\n0\r\n\r\n"), submit.rest);
    const id = JSON.parse(json).task.id;
    await svc.engine.wait(id);
    for (const path of [`/api/tasks/${id}`, "/api/task-types"]) {
      const old = await rawExchange(Number(port), `GET ${path} HTTP/1.0\r\n\r\n`);
      assert(old.head.startsWith("http/1.0 200"), old.head);
      assert(!old.head.includes("transfer-encoding"), old.head);
      assertEquals(old.head.match(/\r\ncontent-length: (\d+)/)?.[1], String(old.rest.length));
      JSON.parse(old.rest);
    }
  } finally {
    await svc.close();
  }
});

Deno.test("a known path with a wrong method is a 405 with Allow; OPTIONS lists the methods", async () => {
  const svc = await startService();
  try {
    const cases: [string, string, string][] = [
      ["DELETE", "/api/tasks/abc", "GET, HEAD, OPTIONS"],
      ["PUT", "/api/tasks", "POST, GET, HEAD, OPTIONS"],
      ["GET", "/api/tasks/batch", "POST, OPTIONS"],
      ["HEAD", "/api/tasks/batch", "POST, OPTIONS"],
      ["GET", "/api/tasks/abc/cancel", "POST, OPTIONS"],
      ["POST", "/api/stats", "GET, HEAD, OPTIONS"],
      ["POST", "/metrics", "GET, HEAD, OPTIONS"],
      ["PATCH", "/ready", "GET, HEAD, OPTIONS"],
      ["FOO", "/api/workers", "GET, HEAD, OPTIONS"],
    ];
    for (const [method, path, allow] of cases) {
      const answer = await exchange(`${svc.url}${path}`, { method });
      assertEquals(answer.status, 405, `${method} ${path}`);
      assertEquals(answer.headers.get("allow"), allow, `${method} ${path}`);
      if (method !== "HEAD") {
        const error = JSON.parse(answer.text).error as Json;
        assertEquals(error.code, "method_not_allowed");
        assert(String(error.message).includes(method), String(error.message));
      }
    }
    const options = await exchange(`${svc.url}/api/tasks/abc`, { method: "OPTIONS" });
    assertEquals([options.status, options.headers.get("allow")], [204, "GET, HEAD, OPTIONS"]);
    // Unknown paths stay 404.
    const unknown = await exchange(`${svc.url}/api/nope`, { method: "DELETE" });
    assertEquals(unknown.status, 404);
    assertEquals((JSON.parse(unknown.text).error as Json).code, "not_found");
  } finally {
    await svc.close();
  }
});

Deno.test("GET answers carry a weak ETag; If-None-Match with it or * answers 304", async () => {
  const svc = await startService();
  try {
    const created = await fetch(`${svc.url}/api/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "noop" }),
    });
    const id = (await created.json()).task.id;
    await svc.engine.wait(id);
    const url = `${svc.url}/api/tasks/${id}`;
    const first = await exchange(url);
    const etag = first.headers.get("etag")!;
    assert(/^W\/"[^"]+"$/.test(etag), etag);
    for (const condition of [etag, etag.slice(2), `"other", ${etag}`, "*"]) {
      const again = await exchange(url, { headers: { "if-none-match": condition } });
      assertEquals(again.status, 304, condition);
      assertEquals(again.text, "");
      assertEquals(again.headers.get("etag"), etag);
    }
    const changed = await exchange(url, { headers: { "if-none-match": 'W/"other"' } });
    assertEquals(changed.status, 200);
    // Only GET and HEAD are conditional here; errors never are.
    const missing = await exchange(`${svc.url}/api/tasks/nope`, {
      headers: { "if-none-match": "*" },
    });
    assertEquals(missing.status, 404);
  } finally {
    await svc.close();
  }
});

Deno.test("answers of 1 KiB and more are compressed with br or gzip; smaller ones are not", async () => {
  const svc = await startService();
  try {
    const batch = await fetch(`${svc.url}/api/tasks/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tasks: Array.from({ length: 1000 }, () => ({ type: "noop" })) }),
    });
    await batch.body?.cancel();
    const page = `${svc.url}/api/tasks?limit=1000`;
    const plain = await exchange(page, { headers: { "accept-encoding": "identity" } });
    assertEquals(plain.headers.get("content-encoding"), null);
    assert(plain.headers.get("vary")!.includes("Accept-Encoding"));
    const size = Number(plain.headers.get("content-length"));
    assert(size > 100_000, String(size));
    for (const [accept, coding] of [["gzip", "gzip"], ["br", "br"], ["gzip;q=0.5, br", "br"]]) {
      const encoded = await exchange(page, { headers: { "accept-encoding": accept } });
      assertEquals(encoded.headers.get("content-encoding"), coding, accept);
      assert(encoded.headers.get("vary")!.includes("Accept-Encoding"));
      assert(Number(encoded.headers.get("content-length")) < size / 4, accept);
      // The tasks may have run meanwhile; the page holds the same tasks.
      assertEquals(JSON.parse(encoded.text).tasks.length, 1000);
    }
    const metrics = await exchange(`${svc.url}/metrics`, {
      headers: { "accept-encoding": "gzip" },
    });
    assertEquals(metrics.headers.get("content-encoding"), "gzip");
    const small = await exchange(`${svc.url}/health`, { headers: { "accept-encoding": "gzip" } });
    assertEquals(small.headers.get("content-encoding"), null);
  } finally {
    await svc.close();
  }
});

Deno.test("errors are JSON; every 401 carries WWW-Authenticate, the dashboard's too", async () => {
  const svc = await startService({ args: ["--token", "s3cret"] });
  try {
    for (const path of ["/nope", "/api/nope/deeper", "/static/a/b", "/islands/a/b"]) {
      const answer = await exchange(`${svc.url}${path}`, {
        headers: { authorization: "Bearer s3cret" },
      });
      assertEquals(answer.status, 404, path);
      assert(answer.headers.get("content-type")!.startsWith("application/json"), path);
      assertEquals((JSON.parse(answer.text).error as Json).code, "not_found", path);
    }
    const api = await exchange(`${svc.url}/api/stats`);
    assertEquals(api.status, 401);
    assert(api.headers.get("www-authenticate")!.startsWith("Bearer"));
    const wrong = await exchange(`${svc.url}/api/stats`, {
      headers: { authorization: "Bearer nope" },
    });
    assertEquals(
      wrong.headers.get("www-authenticate"),
      'Bearer realm="threadflow", error="invalid_token"',
    );
    const page = await exchange(`${svc.url}/`, { headers: { accept: "text/html" } });
    assertEquals(page.status, 401);
    assertEquals(page.headers.get("www-authenticate"), 'Bearer realm="threadflow"');
  } finally {
    await svc.close();
  }
});
