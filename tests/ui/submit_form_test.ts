import { formField, initialForm, readForm } from "../../islands/_client/submit_form.ts";
import { assertEquals } from "./_assert.ts";

const FORM = { ...initialForm("sleep"), payload: '{ "ms": 10 }' };

Deno.test("the form becomes a submit body with only the fields filled in", () => {
  assertEquals(readForm(FORM), {
    input: { type: "sleep", priority: 5, payload: { ms: 10 } },
    count: 1,
    errors: {},
  });
  const full = readForm({
    ...FORM,
    when: "delay",
    delayMs: "2500",
    timeoutMs: "120000",
    maxAttempts: "3",
    idempotencyKey: " order-42 ",
  });
  assertEquals(full.input, {
    type: "sleep",
    priority: 5,
    payload: { ms: 10 },
    delayMs: 2500,
    timeoutMs: 120_000,
    maxAttempts: 3,
    idempotencyKey: "order-42",
  });
  const at = readForm({ ...FORM, when: "at", runAt: "2030-01-02T03:04:05" });
  assertEquals(at.input.runAt, new Date("2030-01-02T03:04:05").toISOString());
});

Deno.test("what only the form can know is checked before sending, once per field", () => {
  assertEquals(Object.keys(readForm({ ...FORM, payload: "{ nope" }).errors), ["payload"]);
  assertEquals(Object.keys(readForm({ ...FORM, when: "at" }).errors), ["when"]);
  assertEquals(Object.keys(readForm({ ...FORM, count: "0" }).errors), ["count"]);
  assertEquals(
    readForm({ ...FORM, count: "3", idempotencyKey: "k" }).errors.count,
    "An idempotency key names one task: leave the key empty to submit several.",
  );
  // Ranges are the server's to check, so its message is the one shown.
  assertEquals(readForm({ ...FORM, priority: "11" }).errors, {});
});

Deno.test("a server error's field finds its place in the form", () => {
  assertEquals(formField("priority"), "priority");
  assertEquals(formField("tasks[3].payload.n"), "payload");
  assertEquals(formField("runAt"), "when");
  assertEquals(formField("timeoutMs"), "timeoutMs");
  assertEquals(formField("tasks"), "count");
  assertEquals(formField("nonsense"), undefined);
});
