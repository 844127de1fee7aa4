import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Hono } from "hono";
import { bodyLimit } from "../../../server/middleware/body_limit.ts";
import { errorAnswer } from "../../../server/errors.ts";

function app(limit: number) {
  const hono = new Hono().use(bodyLimit(limit));
  hono.post("/", async (c) => c.text(String((await c.req.arrayBuffer()).byteLength)));
  hono.onError((error, c) => c.json(errorAnswer(error).body, errorAnswer(error).status as 413));
  return hono;
}

function stream(bytes: number): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (let sent = 0; sent < bytes; sent += 10) controller.enqueue(new Uint8Array(10));
      controller.close();
    },
  });
}

Deno.test("bodyLimit passes a body at the limit and refuses one over it", async () => {
  const hono = app(100);
  const at = await hono.request("/", { method: "POST", body: new Uint8Array(100) });
  assertEquals(await at.text(), "100");
  const over = await hono.request("/", { method: "POST", body: new Uint8Array(101) });
  assertEquals(over.status, 413);
  assertEquals((await over.json()).error.code, "payload_too_large");
});

Deno.test("bodyLimit counts bodies without Content-Length", async () => {
  const hono = app(100);
  const under = await hono.request(
    "/",
    { method: "POST", body: stream(50), duplex: "half" } as RequestInit,
  );
  assertEquals(await under.text(), "50");
  const over = await hono.request(
    "/",
    { method: "POST", body: stream(200), duplex: "half" } as RequestInit,
  );
  assertEquals(over.status, 413);
  await over.body?.cancel();
});
