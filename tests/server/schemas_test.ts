import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { isPlainSubmitInput, SubmitInputSchema } from "../../server/schemas.ts";

Deno.test("isPlainSubmitInput accepts only what SubmitInputSchema accepts unchanged", () => {
  const values: unknown[] = [
    undefined,
    null,
    0,
    -1,
    1,
    5,
    10,
    11,
    1.5,
    100,
    101,
    86_400_000,
    86_400_001,
    31_536_000_000,
    31_536_000_001,
    Number.MAX_SAFE_INTEGER + 2,
    "",
    "fib",
    "x".repeat(200),
    "x".repeat(201),
    "5",
    true,
    [],
    {},
  ];
  const fields = ["type", "payload", "priority", "delayMs", "timeoutMs", "maxAttempts"];
  const more = ["idempotencyKey", "runAt", "dependsOn", "onParentFailure", "other", "__proto__"];
  let accepted = 0;
  const check = (body: unknown) => {
    if (!isPlainSubmitInput(body)) return;
    accepted++;
    const parsed = SubmitInputSchema.safeParse(body);
    assert(parsed.success, JSON.stringify(body));
    assertEquals(parsed.data, body);
  };
  for (const field of [...fields, ...more]) {
    for (const value of values) {
      check(JSON.parse(JSON.stringify({ type: "noop", [field]: value }) ?? "null"));
      check({ [field]: value });
    }
  }
  check(JSON.parse('{"type":"noop","__proto__":{"priority":1}}'));
  check([{ type: "noop" }]);
  check("noop");
  assert(accepted > 40, `accepted ${accepted}`);
  assert(isPlainSubmitInput({ type: "fib", payload: { n: 1 }, priority: 9, idempotencyKey: "k" }));
  assert(!isPlainSubmitInput({ type: "fib", runAt: 1 }), "the schema checks the rest");
});
