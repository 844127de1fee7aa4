import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Hono } from "hono";
import {
  availableCodings,
  CHUNKED_FROM_BYTES,
  CHUNKED_UP_TO,
  compression,
  negotiateCoding,
  sendsChunked,
} from "../../../server/middleware/compression.ts";

function app() {
  return new Hono()
    .use(compression({ threshold: 1024, codings: ["br", "gzip"] }))
    .get("/big", (c) => c.json({ text: "x".repeat(5000) }))
    .get("/small", (c) => c.json({ ok: true }))
    .get("/medium", (c) => c.json({ text: "m".repeat(500) }))
    .get("/raw", (c) => c.body(new Uint8Array(4096), 200, { "content-type": "image/png" }))
    .get(
      "/kept",
      (c) => c.json({ text: "y".repeat(5000) }, 200, { "cache-control": "no-transform" }),
    )
    .get("/tagged", (c) => c.text("z".repeat(5000), 200, { etag: '"abc"' }));
}

Deno.test("negotiateCoding takes the best quality, ties to the server's order, q=0 refuses", () => {
  assertEquals(negotiateCoding(undefined, ["br", "gzip"]), undefined);
  assertEquals(negotiateCoding("gzip, deflate, br, zstd", ["br", "gzip"]), "br");
  assertEquals(negotiateCoding("gzip, br;q=0.5", ["br", "gzip"]), "gzip");
  assertEquals(negotiateCoding("identity", ["br", "gzip"]), undefined);
  assertEquals(negotiateCoding("*", ["br", "gzip"]), "br");
  assertEquals(negotiateCoding("*;q=0.1, br;q=0", ["br", "gzip"]), "gzip");
  assertEquals(negotiateCoding("GZIP", ["br", "gzip"]), "gzip");
  assert(availableCodings().includes("gzip"));
});

/** The framing header an answer carries of ours: chunked, a length (HEAD), or none (Deno's). */
function framingOf(response: Response): string {
  const chunked = response.headers.get("transfer-encoding") === "chunked";
  const length = response.headers.get("content-length");
  assert(!(chunked && length !== null));
  return chunked ? "chunked" : length === null ? "none" : `length ${length}`;
}

Deno.test("compression encodes large compressible bodies, with Vary, framed for Deno", async () => {
  for (const [accept, coding, format] of [["br", "br", "brotli"], ["gzip", "gzip", "gzip"]]) {
    const response = await app().request("/big", { headers: { "accept-encoding": accept } });
    assertEquals(response.headers.get("content-encoding"), coding);
    assertEquals(response.headers.get("vary"), "Accept-Encoding");
    const bytes = new Uint8Array(await response.arrayBuffer());
    assertEquals(framingOf(response), sendsChunked(bytes.length) ? "chunked" : "none");
    const decoded = await new Response(
      new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format as CompressionFormat)),
    ).json();
    assertEquals(decoded.text.length, 5000);
  }
});

Deno.test("sendsChunked: from 256 bytes to 64 KiB", () => {
  assertEquals(sendsChunked(0), false);
  assertEquals(sendsChunked(CHUNKED_FROM_BYTES - 1), false);
  assertEquals(sendsChunked(CHUNKED_FROM_BYTES), true);
  assertEquals(sendsChunked(CHUNKED_UP_TO), true);
  assertEquals(sendsChunked(CHUNKED_UP_TO + 1), false);
});

Deno.test("compression leaves small, medium, binary and no-transform bodies alone, framed", async () => {
  for (const path of ["/small", "/medium", "/raw", "/kept"]) {
    const response = await app().request(path, { headers: { "accept-encoding": "gzip" } });
    assertEquals(response.headers.get("content-encoding"), null, path);
    const bytes = new Uint8Array(await response.arrayBuffer());
    assertEquals(framingOf(response), sendsChunked(bytes.length) ? "chunked" : "none", path);
  }
  const medium = await app().request("/medium", { method: "HEAD" });
  assertEquals(framingOf(medium), `length ${`{"text":"${"m".repeat(500)}"}`.length}`);
  const identity = await app().request("/big");
  assertEquals(identity.headers.get("content-encoding"), null);
  assertEquals(identity.headers.get("vary"), "Accept-Encoding");
  await identity.body?.cancel();
});

Deno.test("compression weakens a strong ETag when it encodes, and HEAD gets the GET's length", async () => {
  const tagged = await app().request("/tagged", { headers: { "accept-encoding": "gzip" } });
  assertEquals(tagged.headers.get("etag"), 'W/"abc"');
  const get = await app().request("/big", { headers: { "accept-encoding": "gzip" } });
  const head = await app().request("/big", {
    method: "HEAD",
    headers: { "accept-encoding": "gzip" },
  });
  const encoded = new Uint8Array(await get.arrayBuffer());
  assertEquals(framingOf(head), `length ${encoded.length}`);
  assertEquals(head.headers.get("content-encoding"), "gzip");
  assertEquals(await head.text(), "");
  await tagged.body?.cancel();
});

Deno.test("compression with etag tags GET and HEAD answers from their bytes and answers 304", async () => {
  const tagged = new Hono()
    .use(compression({ threshold: 1024, codings: ["gzip"], etag: true }))
    .get("/doc", (c) => c.json({ text: "x".repeat(5000) }, 200, { "cache-control": "no-cache" }))
    .get("/own", (c) => c.text("mine", 200, { etag: '"own"' }))
    .post("/doc", (c) => c.json({ ok: true }, 201));
  const get = await tagged.request("/doc", { headers: { "accept-encoding": "gzip" } });
  const etag = get.headers.get("etag")!;
  assert(/^W\/"[0-9a-f]+-[0-9a-f]{16}"$/.test(etag), etag);
  await get.body?.cancel();
  const identity = await tagged.request("/doc");
  assertEquals(identity.headers.get("etag"), etag, "the tag is of the identity bytes");
  await identity.body?.cancel();
  for (const condition of [etag, etag.slice(2), `"other", ${etag}`, "*"]) {
    const again = await tagged.request("/doc", { headers: { "if-none-match": condition } });
    assertEquals(again.status, 304, condition);
    assertEquals(await again.text(), "");
    assertEquals(again.headers.get("etag"), etag);
    assertEquals(again.headers.get("cache-control"), "no-cache");
    assertEquals(again.headers.get("content-type"), null);
  }
  const other = await tagged.request("/doc", { headers: { "if-none-match": 'W/"other"' } });
  assertEquals(other.status, 200);
  await other.body?.cancel();
  const own = await tagged.request("/own", { headers: { "if-none-match": '"own"' } });
  assertEquals([own.status, own.headers.get("etag")], [304, '"own"']);
  const posted = await tagged.request("/doc", {
    method: "POST",
    headers: { "if-none-match": "*" },
  });
  assertEquals([posted.status, posted.headers.get("etag")], [201, null]);
  await posted.body?.cancel();
});
