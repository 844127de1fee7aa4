import { BUILTIN_TASK_TYPES, loadTaskTypes } from "../../engine/pool/task_types.ts";
import { InvalidOptionError } from "../../engine/model/errors.ts";
import { assert, assertEquals, assertRejects, FIXTURE_TASKS, fixtureDir } from "./_helpers.ts";

Deno.test("task types: without tasksDir only the built-ins exist", async () => {
  const types = await loadTaskTypes(null);
  assertEquals([...types.keys()].sort(), [...BUILTIN_TASK_TYPES].sort());
  for (const info of types.values()) {
    assert(info.builtin);
    assert(info.source.endsWith(`/workers/tasks/${info.name}.ts`), info.source);
  }
});

Deno.test("task types: every module in tasksDir is a type named after its file", async () => {
  const types = await loadTaskTypes(FIXTURE_TASKS);
  for (const name of ["spin", "throws", "closes", "hold", "probe", "flaky", "bytes_echo", "nap"]) {
    const info = types.get(name);
    assert(info !== undefined, `${name} is loaded`);
    assertEquals(info.builtin, false);
    assertEquals(info.source, new URL(`${name}.ts`, FIXTURE_TASKS).href);
  }
  assert(types.has("noop"), "built-ins stay");
});

Deno.test("task types: private, hidden, test and declaration files are skipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const file of ["_private.ts", ".hidden.ts", "thing_test.ts", "types.d.ts", "notes.md"]) {
      await Deno.writeTextFile(`${dir}/${file}`, "export default function () {}\n");
    }
    await Deno.writeTextFile(`${dir}/real.js`, "export default function () {}\n");
    await Deno.mkdir(`${dir}/sub.ts`);
    const types = await loadTaskTypes(new URL(`file://${dir}/`));
    const custom = [...types.values()].filter((t) => !t.builtin).map((t) => t.name);
    assertEquals(custom, ["real"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("task types: an invalid file name is refused naming the file", async () => {
  const error = await assertRejects(
    () => loadTaskTypes(fixtureDir("tasks_bad_name")),
    InvalidOptionError,
    "9lives.ts",
  );
  assertEquals(error.field, "tasksDir");
});

Deno.test("task types: a module named like a built-in is refused naming both", async () => {
  const error = await assertRejects(
    () => loadTaskTypes(fixtureDir("tasks_builtin_clash")),
    InvalidOptionError,
    "noop.ts",
  );
  assert(error.message.includes('"noop"'), error.message);
});

Deno.test("task types: a missing folder is refused naming it", async () => {
  const error = await assertRejects(
    () => loadTaskTypes(new URL("file:///nonexistent/threadflow/")),
    InvalidOptionError,
    "/nonexistent/threadflow/",
  );
  assertEquals(error.field, "tasksDir");
});
