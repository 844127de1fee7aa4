import { assertEquals, assertThrows } from "./_assert.ts";
import { deserializeProps, serializeProps } from "../../server/ui/shared/props.ts";

Deno.test("serializeProps round-trips JSON values, bytes and tag-like keys", () => {
  const value = {
    n: 1,
    s: "x",
    b: true,
    nil: null,
    list: [1, "two", { three: 3 }],
    bytes: new Uint8Array([0, 1, 254, 255]),
    nested: { more: [new Uint8Array(0)] },
    tricky: { $tf: "bytes", b64: "not really bytes" },
  };
  const back = deserializeProps(serializeProps(value));
  assertEquals(back, value);
});

Deno.test("serializeProps drops undefined fields and writes non-finite numbers as null", () => {
  const back = deserializeProps(serializeProps({ a: undefined, b: NaN, c: [undefined, Infinity] }));
  assertEquals(back, { b: null, c: [null, null] });
});

Deno.test("serializeProps output cannot close its script element or open a comment", () => {
  const text = serializeProps({ evil: "</script><script>alert(1)</script><!--", line: "\u2028" });
  assertEquals(text.includes("<"), false);
  assertEquals(text.includes("\u2028"), false);
  assertEquals(deserializeProps(text), {
    evil: "</script><script>alert(1)</script><!--",
    line: "\u2028",
  });
});

Deno.test("serializeProps names the path of a value the browser cannot receive", () => {
  assertThrows(
    () => serializeProps({ onClick: () => 1 }),
    TypeError,
    "props.onClick is a function",
  );
  assertThrows(() => serializeProps({ when: new Date(0) }), TypeError, "props.when is a Date");
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  assertThrows(() => serializeProps(cycle), TypeError, "props.self refers back to itself");
});

Deno.test("serializeProps keeps large byte arrays intact", () => {
  const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
  assertEquals(deserializeProps(serializeProps(bytes)), bytes);
});
