/**
 * ThreadFlow with real workers: task types from `tasksDir` modules, and
 * modules refused at start, each naming the file.
 */

import { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import { assert, assertEquals, assertRejects, startEngine } from "./_helpers.ts";

Deno.test("thread flow: tasksDir modules become task types named after their files", async () => {
  const tf = await startEngine();
  try {
    const custom = tf.taskTypes().filter((t) => !t.builtin).map((t) => t.name).sort();
    for (const name of ["attempt", "bytes_echo", "flaky", "hold", "probe", "spin", "throws"]) {
      assert(custom.includes(name), `${name} is a task type`);
    }
    assert(tf.hasTaskType("probe"));
    assert(!tf.hasTaskType("_helpers"));
    const info = tf.taskTypes().find((t) => t.name === "probe")!;
    assert(info.source.endsWith("/tests/fixtures/tasks/probe.ts"), info.source);
    const done = await tf.wait((await tf.submit({ type: "probe", payload: { ms: 1 } })).id);
    assertEquals(done.status, "succeeded");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: a task module without a default function is refused at start, naming the file", async () => {
  const error = await assertRejects(
    () =>
      ThreadFlow.start({
        workers: 2,
        tasksDir: new URL("../fixtures/tasks_no_default/", import.meta.url),
      }),
    Error,
    "no_default.ts",
  );
  assert(!error.message.includes("fine.ts"), error.message);
});

Deno.test("thread flow: a task module that fails to load is refused at start, naming the file", async () => {
  await assertRejects(
    () =>
      ThreadFlow.start({
        workers: 1,
        tasksDir: new URL("../fixtures/tasks_broken/", import.meta.url),
      }),
    Error,
    "broken.ts",
  );
});

Deno.test("thread flow: a task module whose name is not a valid type name is refused, naming it", async () => {
  const { InvalidOptionError } = await import("../../engine/model/errors.ts");
  const error = await assertRejects(
    () =>
      ThreadFlow.start({
        workers: 1,
        tasksDir: new URL("../fixtures/tasks_bad_name/", import.meta.url),
      }),
    InvalidOptionError,
    "9lives.ts",
  );
  assertEquals(error.field, "tasksDir");
});

Deno.test("thread flow: a task module named like a built-in type is refused, naming both", async () => {
  const { InvalidOptionError } = await import("../../engine/model/errors.ts");
  const error = await assertRejects(
    () =>
      ThreadFlow.start({
        workers: 1,
        tasksDir: new URL("../fixtures/tasks_builtin_clash/", import.meta.url),
      }),
    InvalidOptionError,
    "noop.ts",
  );
  assert(error.message.includes("built-in"), error.message);
});
