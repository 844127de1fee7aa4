import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { uuidv7 } from "../../engine/model/id.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test("id: UUIDv7 ids are well formed, unique and strictly increasing", () => {
  const ids = Array.from({ length: 50_000 }, () => uuidv7());
  for (let i = 0; i < ids.length; i++) {
    assert(UUID_V7.test(ids[i]), ids[i]);
    if (i > 0) assert(ids[i] > ids[i - 1], `${ids[i - 1]} then ${ids[i]}`);
  }
  assertEquals(new Set(ids).size, ids.length);
});

Deno.test("id: the first 48 bits are the creation time in ms", () => {
  const before = Date.now();
  const id = uuidv7();
  const after = Date.now();
  const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  // Borrowing the next millisecond under a burst may put it at most a little ahead.
  assert(ms >= before && ms <= after + 5, `${ms} not within ${before}..${after}`);
});
