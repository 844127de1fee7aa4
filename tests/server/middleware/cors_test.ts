import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Hono } from "hono";
import { cors } from "../../../server/middleware/cors.ts";

function app(origins: string[]) {
  return new Hono().use(cors(origins)).post("/x", (c) => c.json({ ok: true }));
}

Deno.test("cors with no origins adds nothing", async () => {
  const response = await app([]).request("/x", {
    method: "POST",
    headers: { origin: "http://a.test" },
  });
  assertEquals(response.headers.get("access-control-allow-origin"), null);
  await response.body?.cancel();
});

Deno.test("cors answers preflights for listed origins and tags answers", async () => {
  const hono = app(["http://a.test"]);
  const preflight = await hono.request("/x", {
    method: "OPTIONS",
    headers: { origin: "http://a.test", "access-control-request-method": "POST" },
  });
  assertEquals(preflight.status, 204);
  assertEquals(preflight.headers.get("access-control-allow-origin"), "http://a.test");
  assertEquals(preflight.headers.get("access-control-allow-methods"), "GET, POST, OPTIONS");
  const refused = await hono.request("/x", {
    method: "OPTIONS",
    headers: { origin: "http://b.test", "access-control-request-method": "POST" },
  });
  assertEquals(refused.headers.get("access-control-allow-origin"), null);
  const simple = await hono.request("/x", { method: "POST", headers: { origin: "http://a.test" } });
  assertEquals(simple.headers.get("access-control-allow-origin"), "http://a.test");
  await simple.body?.cancel();
});

Deno.test("cors with * allows any origin", async () => {
  const response = await app(["*"]).request("/x", {
    method: "POST",
    headers: { origin: "http://z.test" },
  });
  assertEquals(response.headers.get("access-control-allow-origin"), "*");
  await response.body?.cancel();
});

Deno.test("cors opens read-only paths to any origin unless origins are listed", async () => {
  const open = new Hono().use(cors([], { openPaths: ["/health"] }))
    .get("/health", (c) => c.json({ ok: true }))
    .post("/x", (c) => c.json({ ok: true }));
  const health = await open.request("/health", { headers: { origin: "http://z.test" } });
  assertEquals(health.headers.get("access-control-allow-origin"), "*");
  const preflight = await open.request("/health", {
    method: "OPTIONS",
    headers: { origin: "http://z.test", "access-control-request-method": "GET" },
  });
  assertEquals(preflight.status, 204);
  assertEquals(preflight.headers.get("access-control-allow-methods"), "GET, HEAD, OPTIONS");
  const other = await open.request("/x", { method: "POST", headers: { origin: "http://z.test" } });
  assertEquals(other.headers.get("access-control-allow-origin"), null);

  const narrowed = new Hono().use(cors(["http://a.test"], { openPaths: ["/health"] }))
    .get("/health", (c) => c.json({ ok: true }));
  const refused = await narrowed.request("/health", { headers: { origin: "http://z.test" } });
  assertEquals(refused.headers.get("access-control-allow-origin"), null);
  for (const response of [health, other, refused]) await response.body?.cancel();
});
