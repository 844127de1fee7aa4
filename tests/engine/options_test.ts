import { resolveOptions, type ThreadFlowOptions } from "../../engine/facade/options.ts";
import { InvalidOptionError } from "../../engine/model/errors.ts";
import { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_helpers.ts";

type IntegerOption = Exclude<keyof ThreadFlowOptions, "tasksDir" | "store" | "nodeId">;

/** Each integer option with its smallest and largest allowed value. */
const INTEGER_OPTIONS: Array<[IntegerOption, number, number]> = [
  ["workers", 1, 1024],
  ["concurrencyPerWorker", 1, 10_000],
  ["maxQueued", 1, 100_000_000],
  ["maxPayloadBytes", 1, 1024 ** 3],
  ["agingMs", 0, 86_400_000],
  ["defaultTimeoutMs", 1, 86_400_000],
  ["defaultMaxAttempts", 1, 100],
  ["backoffMs", 0, 86_400_000],
  ["maxBackoffMs", 0, 86_400_000],
  ["cancelGraceMs", 0, 600_000],
  ["dispatchBatch", 1, 4096],
  ["progressIntervalMs", 0, 60_000],
  ["retentionMs", 0, 3650 * 86_400_000],
  ["retentionMaxFinished", 0, 1_000_000_000],
];

Deno.test("options: defaults are filled in", () => {
  const options = resolveOptions({});
  assertEquals(options.workers, navigator.hardwareConcurrency || 1);
  assertEquals(options.concurrencyPerWorker, 1);
  assertEquals(options.tasksDir, null);
  assertEquals(options.maxQueued, 1_000_000);
  assertEquals(options.maxPayloadBytes, 1024 * 1024);
  assertEquals(options.agingMs, 0);
  assertEquals(options.defaultTimeoutMs, 60_000);
  assertEquals(options.defaultMaxAttempts, 1);
  assertEquals(options.backoffMs, 1000);
  assertEquals(options.maxBackoffMs, 60_000);
  assertEquals(options.cancelGraceMs, 1000);
  assert(/^node-[0-9a-f]{8}$/.test(options.nodeId), options.nodeId);
});

Deno.test("options: every integer option accepts its bounds", () => {
  for (const [name, min, max] of INTEGER_OPTIONS) {
    assertEquals(resolveOptions({ [name]: min })[name], min, `${name} = ${min}`);
    assertEquals(resolveOptions({ [name]: max })[name], max, `${name} = ${max}`);
  }
});

Deno.test("options: every integer option refuses bad values with an error naming it", () => {
  for (const [name, min, max] of INTEGER_OPTIONS) {
    for (const bad of [min - 1, max + 1, min + 0.5, String(min), Number.NaN, null, true]) {
      const error = assertThrows(
        () => resolveOptions({ [name]: bad } as unknown as ThreadFlowOptions),
        InvalidOptionError,
      );
      assertEquals(error.field, name, `field for ${name} = ${String(bad)}`);
      assertEquals(error.code, "invalid_option");
      assert(error.message.startsWith(`Option ${name} must be`), error.message);
    }
  }
});

Deno.test("options: the message shows the received value", () => {
  const error = assertThrows(() => resolveOptions({ workers: 0 }), InvalidOptionError);
  assertEquals(error.message, "Option workers must be an integer from 1 to 1024: received 0.");
});

Deno.test("options: tasksDir as a path or URL becomes a folder URL", () => {
  const relative = resolveOptions({ tasksDir: "tests/fixtures/tasks" }).tasksDir!;
  assertEquals(relative.href, new URL(`file://${Deno.cwd()}/tests/fixtures/tasks/`).href);
  const absolute = resolveOptions({ tasksDir: "/tmp/tasks/" }).tasksDir!;
  assertEquals(absolute.href, "file:///tmp/tasks/");
  const url = resolveOptions({ tasksDir: new URL("file:///tmp/tasks") }).tasksDir!;
  assertEquals(url.href, "file:///tmp/tasks/");
});

Deno.test("options: tasksDir that is not a path is refused naming it", () => {
  for (const bad of ["", 42, {}]) {
    const error = assertThrows(
      () => resolveOptions({ tasksDir: bad } as unknown as ThreadFlowOptions),
      InvalidOptionError,
    );
    assertEquals(error.field, "tasksDir");
  }
});

Deno.test("options: nodeId is checked", () => {
  assertEquals(resolveOptions({ nodeId: "node-1.a_b" }).nodeId, "node-1.a_b");
  for (const bad of ["", "has space", "x".repeat(65), "slash/no", 7]) {
    const error = assertThrows(
      () => resolveOptions({ nodeId: bad } as unknown as ThreadFlowOptions),
      InvalidOptionError,
    );
    assertEquals(error.field, "nodeId");
  }
});

Deno.test("options: ThreadFlow.start rejects a bad option before starting anything", async () => {
  const error = await assertRejects(
    () => ThreadFlow.start({ workers: 1, concurrencyPerWorker: 0 }),
    InvalidOptionError,
  );
  assertEquals(error.field, "concurrencyPerWorker");
});

Deno.test("options: ThreadFlow.start rejects a tasksDir that does not exist, naming it", async () => {
  const error = await assertRejects(
    () => ThreadFlow.start({ workers: 1, tasksDir: "/nonexistent/threadflow-tasks" }),
    InvalidOptionError,
    "/nonexistent/threadflow-tasks",
  );
  assertEquals(error.field, "tasksDir");
});

Deno.test("options: resolved options are exposed, frozen, on the engine", async () => {
  const tf = await ThreadFlow.start({ workers: 1, maxQueued: 10, nodeId: "opt-node" });
  try {
    assertEquals(tf.options.maxQueued, 10);
    assertEquals(tf.options.nodeId, "opt-node");
    assertEquals(tf.nodeId, "opt-node");
    assert(Object.isFrozen(tf.options));
  } finally {
    await tf.close();
  }
});

Deno.test({
  name: "options: an unknown (misspelled) option is refused naming it",
  // Regression (found by this suite, fixed in 81994bf): unknown keys were ignored, so a typo
  // like { worker: 2 } silently ran with the default.
  fn() {
    const error = assertThrows(
      () => resolveOptions({ worker: 2 } as unknown as ThreadFlowOptions),
      InvalidOptionError,
    );
    assertEquals(error.field, "worker");
  },
});
