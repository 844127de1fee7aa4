import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../../server/app_env.ts";
import { requestId } from "../../../server/middleware/request_id.ts";

function app() {
  return new Hono<AppEnv>().use(requestId()).get("/", (c) => c.text(c.get("requestId")));
}

Deno.test("requestId echoes a sane client id", async () => {
  const response = await app().request("/", { headers: { "x-request-id": "abc-123" } });
  assertEquals(response.headers.get("x-request-id"), "abc-123");
  assertEquals(await response.text(), "abc-123");
});

Deno.test("requestId replaces a missing or unsafe id with a new unique one", async () => {
  const cases: Record<string, string>[] = [{}, { "x-request-id": "bad id\twith spaces" }];
  const seen = new Set<string>();
  for (const headers of cases) {
    const response = await app().request("/", { headers });
    const id = response.headers.get("x-request-id")!;
    assert(/^[0-9a-f]{8}-[0-9a-z]+$/.test(id), id);
    assertEquals(await response.text(), id);
    seen.add(id);
  }
  assertEquals(seen.size, cases.length);
});
