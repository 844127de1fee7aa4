import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Hono } from "hono";
import { bearerToken, timingSafeEqual, tokenAuth } from "../../../server/middleware/auth.ts";
import { errorAnswer } from "../../../server/errors.ts";

function app(token: string | undefined) {
  const hono = new Hono();
  hono.use(tokenAuth(token));
  hono.get("/", (c) => c.text("ok"));
  hono.onError((error, c) => {
    const answer = errorAnswer(error);
    return c.json(answer.body, answer.status as 401);
  });
  return hono;
}

Deno.test("timingSafeEqual compares whole values of any length", () => {
  assert(timingSafeEqual("secret", "secret"));
  assert(!timingSafeEqual("secreT", "secret"));
  assert(!timingSafeEqual("secret1", "secret"));
  assert(!timingSafeEqual("", "secret"));
  assert(!timingSafeEqual("sec", "secret"));
  assert(timingSafeEqual("", ""));
});

Deno.test("bearerToken reads the Authorization header", () => {
  assertEquals(bearerToken("Bearer abc"), "abc");
  assertEquals(bearerToken("bearer   abc "), "abc");
  assertEquals(bearerToken("Basic abc"), undefined);
  assertEquals(bearerToken(undefined), undefined);
});

Deno.test("tokenAuth lets everything through without a token", async () => {
  const response = await app(undefined).request("/");
  assertEquals(response.status, 200);
  await response.body?.cancel();
});

Deno.test("tokenAuth answers 401 for a missing or wrong token and passes the right one", async () => {
  const hono = app("s3cret");
  const missing = await hono.request("/");
  assertEquals(missing.status, 401);
  assert(missing.headers.get("www-authenticate")?.startsWith("Bearer"));
  assertEquals((await missing.json()).error.code, "unauthorized");
  const wrong = await hono.request("/", { headers: { authorization: "Bearer nope" } });
  assertEquals(wrong.status, 401);
  await wrong.body?.cancel();
  const right = await hono.request("/", { headers: { authorization: "Bearer s3cret" } });
  assertEquals(right.status, 200);
  assertEquals(await right.text(), "ok");
});
