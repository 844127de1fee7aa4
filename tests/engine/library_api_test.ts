/**
 * The library as a newcomer meets it: the README's example runs as written,
 * stores are named by spec, submit and submitBatch answer shapes that
 * compose, list filters take one value or a list, and a Deno without
 * worker options gets an error that names the fix.
 *
 * @module
 */

import { join } from "node:path";
import { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import { ClosedError, InvalidOptionError, ValidationError } from "../../engine/model/errors.ts";
import { assert, assertEquals, assertRejects } from "./_helpers.ts";

const ROOT = new URL("../../", import.meta.url);

/** The first TypeScript block after the README's "## Library use" heading. */
async function readmeExample(): Promise<string> {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const section = readme.slice(readme.indexOf("## Library use"));
  const match = section.match(/```ts\n([\s\S]*?)```/);
  assert(match, "the README has a library example");
  return match[1];
}

async function runDeno(
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("library: the README's example runs as written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_readme_" });
  try {
    // As written, run from a copy of the project: only "./mod.ts" points at this clone.
    const code = (await readmeExample()).replace(
      `from "./mod.ts"`,
      `from ${JSON.stringify(new URL("mod.ts", ROOT).href)}`,
    );
    const file = join(dir, "example.ts");
    await Deno.writeTextFile(file, code);
    const config = new URL("deno.json", ROOT).pathname;
    const result = await runDeno(["run", "-A", "--config", config, file], dir);
    assertEquals(result.code, 0, result.stderr);
    assert(result.stdout.includes("done fib 832040"), result.stdout);
    assert(result.stdout.includes("done sha256"), result.stdout);
    assert(result.stdout.includes("\n832040 0\n"), result.stdout);
    // The store it named is durable: the tasks are in the file.
    const again = await ThreadFlow.start({
      workers: 1,
      store: `sqlite:${join(dir, "data", "example.db")}`,
    });
    try {
      assertEquals((await again.list({ status: "succeeded" })).tasks.length, 3);
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("library: submit and submitBatch answer tasks; outcomes on request", async () => {
  const tf = await ThreadFlow.start({ workers: 1 });
  try {
    const one = await tf.submit({ type: "noop", idempotencyKey: "k" });
    const batch = await tf.submitBatch([{ type: "noop" }, { type: "noop", priority: 9 }]);
    assertEquals(batch.length, 2);
    assertEquals(batch.at(-1)!.priority, 9);
    assertEquals((await tf.wait(batch.at(-1)!.id)).status, "succeeded");
    const [again, fresh] = await tf.submitBatch(
      [{ type: "noop", idempotencyKey: "k" }, { type: "noop" }],
      { outcomes: true },
    );
    assertEquals([again.created, again.task.id], [false, one.id]);
    assertEquals(fresh.created, true);
  } finally {
    await tf.close();
  }
});

Deno.test("library: prune deletes what retention allows now and tells onPruned; a listener that throws harms nothing", async () => {
  const tf = await ThreadFlow.start({ workers: 1, retentionMaxFinished: 2 });
  try {
    assertEquals(await tf.prune(), 0);
    const tasks = await tf.submitBatch(Array.from({ length: 5 }, () => ({ type: "noop" })));
    for (const task of tasks) await tf.wait(task.id);
    const told: number[] = [];
    tf.onPruned(() => {
      throw new Error("a listener's own bug");
    });
    const stop = tf.onPruned((deleted) => told.push(deleted));
    const errors = console.error;
    console.error = () => {};
    try {
      assertEquals(await tf.prune(), 3);
    } finally {
      console.error = errors;
    }
    assertEquals(told, [3]);
    // The oldest finished go first.
    assertEquals(await tf.get(tasks[0].id), undefined);
    assertEquals((await tf.get(tasks[4].id))?.status, "succeeded");
    stop();
    assertEquals(await tf.prune(), 0);
  } finally {
    await tf.close();
  }
  await assertRejects(() => tf.prune(), ClosedError);
});

Deno.test("library: list filters take one value or a list; a bad one names the field", async () => {
  const tf = await ThreadFlow.start({ workers: 1 });
  try {
    const tasks = await tf.submitBatch([
      { type: "noop" },
      { type: "sha256", payload: { data: 5 } }, // not text: fails
    ]);
    await Promise.all(tasks.map((task) => tf.wait(task.id)));
    const failed = await tf.list({ status: "failed" });
    assertEquals(failed.tasks.map((task) => task.id), [tasks[1].id]);
    assertEquals((await tf.list({ status: ["failed", "succeeded"] })).tasks.length, 2);
    assertEquals((await tf.list({ type: "noop", priority: 5 })).tasks.length, 1);
    const error = await assertRejects(
      () => tf.list({ status: "done" as never }),
      ValidationError,
      "status must be one of",
    );
    assertEquals(error.field, "status");
    await assertRejects(() => tf.list({ priority: 11 }), ValidationError, "priority");
    await assertRejects(() => tf.list({ cursor: "nope" }), ValidationError, "Cursor");
  } finally {
    await tf.close();
  }
});

Deno.test("library: a store is named by spec; a bad spec is refused naming the option", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_spec_" });
  try {
    const path = join(dir, "tasks.db");
    const first = await ThreadFlow.start({ workers: 1, store: `sqlite:${path}` });
    const task = await first.submit({ type: "noop", delayMs: 60_000 });
    await first.close();
    const second = await ThreadFlow.start({ workers: 1, store: `sqlite:${path}` });
    try {
      assertEquals((await second.get(task.id))?.status, "scheduled");
      assertEquals(second.store.name, `sqlite:${path}`);
    } finally {
      await second.close();
    }
    const memory = await ThreadFlow.start({ workers: 1, store: "memory" });
    assertEquals(memory.store.name, "memory");
    await memory.close();
    const error = await assertRejects(
      () => ThreadFlow.start({ store: "redis://nope" }),
      InvalidOptionError,
      "Store must be",
    );
    assertEquals(error.field, "store");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("library: without --unstable-worker-options, start names the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_flags_" });
  try {
    const file = join(dir, "start.ts");
    const mod = new URL("mod.ts", ROOT).href;
    await Deno.writeTextFile(
      file,
      `import { ThreadFlow } from ${JSON.stringify(mod)};
try {
  const tf = await ThreadFlow.start({ workers: 1 });
  await tf.close();
  console.log("started");
} catch (error) {
  console.log(error.name, error.field, error.message);
}
const unsandboxed = await ThreadFlow.start({ workers: 1, sandbox: false });
console.log("sandbox false:", (await unsandboxed.wait((await unsandboxed.submit({ type: "noop" })).id)).status);
await unsandboxed.close();
`,
    );
    // The project's import map, but not its "unstable" list: a user's program elsewhere.
    const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
    await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify({ imports: config.imports }));
    const result = await runDeno(["run", "-A", file], dir);
    assertEquals(result.code, 0, result.stderr);
    assert(result.stdout.includes("InvalidOptionError sandbox"), result.stdout);
    assert(result.stdout.includes("--unstable-worker-options"), result.stdout);
    assert(result.stdout.includes("sandbox false: succeeded"), result.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
