import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Hono } from "hono";
import { BEARER_CHALLENGE, wwwAuthenticate } from "../../../server/middleware/www_authenticate.ts";

Deno.test("wwwAuthenticate adds a challenge to a bare 401 and keeps a route's own", async () => {
  const app = new Hono().use(wwwAuthenticate())
    .get("/page", (c) => c.html("<p>Token required</p>", 401))
    .get("/own", (c) => c.json({}, 401, { "www-authenticate": 'Bearer error="invalid_token"' }))
    .get("/fine", (c) => c.json({}));
  const page = await app.request("/page");
  assertEquals(page.headers.get("www-authenticate"), BEARER_CHALLENGE);
  const own = await app.request("/own");
  assertEquals(own.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
  const fine = await app.request("/fine");
  assertEquals(fine.headers.get("www-authenticate"), null);
  for (const response of [page, own, fine]) await response.body?.cancel();
});
