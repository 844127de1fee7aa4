import { buildTask, payloadSize } from "../../engine/facade/submit.ts";
import { MAX_DELAY_MS } from "../../engine/model/limits.ts";
import { resolveOptions, type ThreadFlowOptions } from "../../engine/facade/options.ts";
import {
  PayloadTooLargeError,
  ThreadFlowError,
  UnknownTaskTypeError,
  ValidationError,
} from "../../engine/model/errors.ts";
import { assert, assertEquals, assertThrows } from "./_helpers.ts";

const NOW = 1_800_000_000_000;

function context(options: ThreadFlowOptions = {}) {
  return {
    options: resolveOptions({ workers: 1, nodeId: "test", ...options }),
    hasTaskType: (name: string) => name === "noop" || name === "fib",
  };
}

function build(input: unknown, options: ThreadFlowOptions = {}, prefix?: string) {
  return buildTask(input, context(options), NOW, prefix);
}

/** Asserts `input` is refused with a ValidationError naming `field`. */
function refuses(input: unknown, field: string | undefined, options: ThreadFlowOptions = {}) {
  const error = assertThrows(() => build(input, options), ThreadFlowError);
  assertEquals(error.field, field, `field of the error for ${Deno.inspect(input)}`);
  if (field !== undefined && error instanceof ValidationError) {
    assert(
      error.message.includes(field.replace(/^.*\./, "")),
      `the message names the field: ${error.message}`,
    );
  }
  return error;
}

Deno.test("submit: a minimal input gets every default", () => {
  const task = build({ type: "noop" });
  assertEquals(task.type, "noop");
  assertEquals(task.payload, null);
  assertEquals(task.priority, 5);
  assertEquals(task.status, "queued");
  assertEquals(task.attempts, 0);
  assertEquals(task.maxAttempts, 1);
  assertEquals(task.timeoutMs, 60_000);
  assertEquals(task.progress, null);
  assertEquals(task.result, null);
  assertEquals(task.error, null);
  assertEquals(task.createdAt, NOW);
  assertEquals(task.runAt, NOW);
  assertEquals(task.startedAt, null);
  assertEquals(task.finishedAt, null);
  assertEquals(task.workerId, null);
  assertEquals(task.idempotencyKey, null);
  assert(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(task.id), task.id);
});

Deno.test("submit: engine defaults for timeout and attempts come from the options", () => {
  const task = build({ type: "noop" }, { defaultTimeoutMs: 1234, defaultMaxAttempts: 4 });
  assertEquals(task.timeoutMs, 1234);
  assertEquals(task.maxAttempts, 4);
});

Deno.test("submit: ids are unique and sort by creation", () => {
  const ids: string[] = [];
  for (let i = 0; i < 2000; i++) ids.push(buildTask({ type: "noop" }, context(), Date.now()).id);
  assertEquals(new Set(ids).size, ids.length);
  assertEquals([...ids].sort(), ids);
});

Deno.test("submit: every field is validated with an error naming it", () => {
  refuses(null, undefined);
  refuses("noop", undefined);
  refuses([{ type: "noop" }], undefined);
  refuses({}, "type");
  refuses({ type: "" }, "type");
  refuses({ type: 42 }, "type");
  refuses({ type: "noop", prio: 3 }, "prio");
  for (const priority of [0, 11, 5.5, "5", -1, Number.NaN, true]) {
    refuses({ type: "noop", priority }, "priority");
  }
  for (const timeoutMs of [0, -5, 1.5, "100", 86_400_001]) {
    refuses({ type: "noop", timeoutMs }, "timeoutMs");
  }
  for (const maxAttempts of [0, 101, 2.5, "3"]) {
    refuses({ type: "noop", maxAttempts }, "maxAttempts");
  }
  for (const delayMs of [-1, 1.5, "10", MAX_DELAY_MS + 1, Number.POSITIVE_INFINITY]) {
    refuses({ type: "noop", delayMs }, "delayMs");
  }
  for (const runAt of ["not a date", {}, true, NOW + MAX_DELAY_MS + 1, Number.NaN]) {
    refuses({ type: "noop", runAt }, "runAt");
  }
  refuses({ type: "noop", runAt: NOW + 10, delayMs: 10 }, "runAt");
  for (const idempotencyKey of ["", "k".repeat(201), 7, {}]) {
    refuses({ type: "noop", idempotencyKey }, "idempotencyKey");
  }
  for (const payload of [() => 1, Symbol("s"), 10n, Number.NaN, Number.POSITIVE_INFINITY]) {
    refuses({ type: "noop", payload }, "payload");
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  refuses({ type: "noop", payload: cyclic }, "payload");
});

Deno.test("submit: error messages are sentences that show what was received", () => {
  const error = refuses({ type: "noop", priority: "abc" }, "priority");
  assertEquals(error.message, 'Field priority must be an integer from 1 to 10: received "abc".');
  assertEquals(error.code, "validation_error");
});

Deno.test("submit: an unknown type is refused before anything else happens", () => {
  const error = assertThrows(() => build({ type: "nope" }), UnknownTaskTypeError);
  assertEquals(error.field, "type");
  assertEquals(error.code, "unknown_task_type");
  assert(error.message.includes('"nope"'), error.message);
});

Deno.test("submit: a prefix goes before every field name (batch errors)", () => {
  const error = assertThrows(
    () => build({ type: "noop", priority: 0 }, {}, "tasks[3]."),
    ValidationError,
  );
  assertEquals(error.field, "tasks[3].priority");
  const unknown = assertThrows(() => build({ type: "x" }, {}, "tasks[1]."), UnknownTaskTypeError);
  assertEquals(unknown.field, "tasks[1].type");
  const notObject = assertThrows(() => build(5, {}, "tasks[2]."), ValidationError);
  assertEquals(notObject.field, "tasks[2]");
  const tooBig = assertThrows(
    () => build({ type: "noop", payload: "x".repeat(100) }, { maxPayloadBytes: 10 }, "tasks[0]."),
    PayloadTooLargeError,
  );
  assertEquals(tooBig.field, "tasks[0].payload");
});

Deno.test("submit: priority edges 1 and 10 are accepted; null means default", () => {
  assertEquals(build({ type: "noop", priority: 1 }).priority, 1);
  assertEquals(build({ type: "noop", priority: 10 }).priority, 10);
  assertEquals(build({ type: "noop", priority: null }).priority, 5);
});

Deno.test("submit: delayMs and runAt schedule the task", () => {
  const delayed = build({ type: "noop", delayMs: 5000 });
  assertEquals(delayed.status, "scheduled");
  assertEquals(delayed.runAt, NOW + 5000);
  assertEquals(delayed.createdAt, NOW);

  const zero = build({ type: "noop", delayMs: 0 });
  assertEquals(zero.status, "queued");

  const iso = build({ type: "noop", runAt: new Date(NOW + 60_000).toISOString() });
  assertEquals(iso.status, "scheduled");
  assertEquals(iso.runAt, NOW + 60_000);

  const past = build({ type: "noop", runAt: NOW - 60_000 });
  assertEquals(past.status, "queued");
  assertEquals(past.runAt, NOW, "a past runAt runs now");

  const edge = build({ type: "noop", delayMs: MAX_DELAY_MS });
  assertEquals(edge.runAt, NOW + MAX_DELAY_MS);
});

Deno.test("submit: idempotency key up to 200 characters", () => {
  assertEquals(
    build({ type: "noop", idempotencyKey: "k".repeat(200) }).idempotencyKey?.length,
    200,
  );
});

Deno.test("submit: payload size limit: exactly the limit passes, one byte more is refused", () => {
  const limit = 100;
  // {"data":"…"} is 11 bytes of JSON around the string.
  const atLimit = { data: "x".repeat(limit - 11) };
  assertEquals(payloadSize(atLimit), limit);
  build({ type: "noop", payload: atLimit }, { maxPayloadBytes: limit });
  const over = { data: "x".repeat(limit - 10) };
  const error = assertThrows(
    () => build({ type: "noop", payload: over }, { maxPayloadBytes: limit }),
    PayloadTooLargeError,
  );
  assertEquals(error.field, "payload");
  assertEquals(error.code, "payload_too_large");
  assert(error.message.includes("100") && error.message.includes("101"), error.message);
});

Deno.test("submit: the payload limit counts UTF-8 bytes of the JSON text", () => {
  // "é" is two bytes in UTF-8.
  assertEquals(payloadSize({ s: "é".repeat(100) }), 8 + 200);
  assertThrows(
    () => build({ type: "noop", payload: { s: "é".repeat(100) } }, { maxPayloadBytes: 150 }),
    PayloadTooLargeError,
  );
  assertEquals(payloadSize({ s: "😀" }), 8 + 4);
});

Deno.test({
  name: "submit: a short string payload is measured like any other JSON text",
  // Regression (found by this suite, fixed in 81994bf): strings under 64 characters were counted
  // as length + 2, ignoring UTF-8 width and JSON escapes.
  fn() {
    assertEquals(payloadSize("é".repeat(63)), 2 + 126);
    assertEquals(payloadSize('"'.repeat(63)), 2 + 126);
    assertThrows(
      () => build({ type: "noop", payload: "é".repeat(63) }, { maxPayloadBytes: 100 }),
      PayloadTooLargeError,
    );
  },
});

Deno.test("submit: bytes payload: raw length counts, the same Uint8Array is kept", () => {
  const bytes = new Uint8Array(64).fill(7);
  const task = build({ type: "noop", payload: bytes }, { maxPayloadBytes: 64 });
  assert(task.payload === bytes, "bytes are not copied or encoded");
  assertEquals(payloadSize(bytes), 64);
  const error = assertThrows(
    () => build({ type: "noop", payload: new Uint8Array(65) }, { maxPayloadBytes: 64 }),
    PayloadTooLargeError,
  );
  assertEquals(error.field, "payload");
  build({ type: "noop", payload: new Uint8Array(0) }, { maxPayloadBytes: 1 });
});

Deno.test("submit: JSON payloads of every shape are accepted", () => {
  for (const payload of [null, 0, -1.5, true, "text", [], [1, "a"], { a: { b: [null] } }]) {
    assertEquals(build({ type: "noop", payload }).payload, payload);
  }
  assertEquals(build({ type: "noop", payload: undefined }).payload, null);
});

Deno.test({
  name: "submit: a payload that is not JSON deep inside (a function) is refused",
  // Regression (found by this suite, fixed in 81994bf): JSON.stringify dropped nested functions,
  // so such a payload passed validation and then broke postMessage, which the pool took for a
  // worker crash (see thread_flow_failures_test.ts).
  fn() {
    refuses({ type: "noop", payload: { f: () => 1 } }, "payload");
    refuses({ type: "noop", payload: { s: Symbol("x") } }, "payload");
  },
});
