/**
 * Sandboxed task workers: a task type runs with the permissions its module
 * declares (`export const permissions`), none by default; workers are grouped
 * by permission set and switched between groups on demand.
 */

import { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import { InvalidOptionError } from "../../engine/model/errors.ts";
import type { WorkerEvent } from "../../engine/model/events.ts";
import { loadTaskTypes } from "../../engine/pool/task_types.ts";
import { resolveOptions } from "../../engine/facade/options.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  EventLog,
  fixtureDir,
  waitAllIdle,
} from "./_helpers.ts";

const SANDBOX_TASKS = fixtureDir("tasks_sandbox");
const NOTE = new URL("note.txt", SANDBOX_TASKS).pathname;

function isPermissionError(name: string | undefined): boolean {
  return name === "NotCapable" || name === "PermissionDenied";
}

Deno.test("sandbox: a module that declares nothing runs without permissions", async () => {
  const tf = await ThreadFlow.start({ workers: 1, tasksDir: SANDBOX_TASKS });
  try {
    const failed = await tf.wait((await tf.submit({ type: "reads", payload: { path: NOTE } })).id);
    assertEquals(failed.status, "failed");
    assert(
      isPermissionError(failed.error?.name),
      `${failed.error?.name}: ${failed.error?.message}`,
    );
    assertEquals(tf.workers()[0].restarts, 0, "a refused permission is an ordinary failure");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("sandbox: a module gets exactly the permissions it declares", async () => {
  const tf = await ThreadFlow.start({ workers: 1, tasksDir: SANDBOX_TASKS });
  try {
    const inside = await tf.wait(
      (await tf.submit({ type: "reads_here", payload: { path: NOTE } })).id,
    );
    assertEquals(inside.status, "succeeded", inside.error?.message);
    assertEquals(inside.result, { length: 12 });
    const outside = await tf.wait(
      (await tf.submit({ type: "reads_here", payload: { path: "/etc/hostname" } })).id,
    );
    assertEquals(outside.status, "failed");
    assert(isPermissionError(outside.error?.name), `${outside.error?.name}`);
    const info = tf.taskTypes().find((t) => t.name === "reads_here");
    assertEquals(info?.permissions.read, [new URL(".", SANDBOX_TASKS).pathname]);
    assertEquals(info?.permissions.net, false);
    assertEquals(tf.taskTypes().find((t) => t.name === "reads")?.permissions.read, false);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("sandbox: sandbox: false lets handlers use the process's permissions", async () => {
  const tf = await ThreadFlow.start({ workers: 1, tasksDir: SANDBOX_TASKS, sandbox: false });
  try {
    const done = await tf.wait((await tf.submit({ type: "reads", payload: { path: NOTE } })).id);
    assertEquals(done.status, "succeeded", done.error?.message);
    assertEquals(done.result, { length: 12 });
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("sandbox: the sandbox option is validated", async () => {
  const error = await assertRejects(
    () => ThreadFlow.start({ workers: 1, sandbox: "yes" as unknown as boolean }),
    InvalidOptionError,
  );
  assertEquals(error.field, "sandbox");
});

Deno.test("sandbox: an invalid permissions export is refused at start, naming the file", async () => {
  const error = await assertRejects(
    () => ThreadFlow.start({ workers: 1, tasksDir: fixtureDir("tasks_bad_permissions") }),
    InvalidOptionError,
    "bad_permissions.ts",
  );
  assertEquals(error.field, "tasksDir");
  assert(error.message.includes('"disk"'), error.message);
});

Deno.test("sandbox: one worker alternates between permission groups in priority order", async () => {
  const tf = await ThreadFlow.start({ workers: 1, tasksDir: SANDBOX_TASKS });
  const log = new EventLog(tf);
  try {
    // Submitted together: reads_here needs its own group; noop runs in the built-ins' group.
    const results = await tf.submitBatch([
      { type: "noop", payload: "a", priority: 9 },
      { type: "reads_here", payload: { path: NOTE }, priority: 7 },
      { type: "noop", payload: "b", priority: 5 },
      { type: "reads_here", payload: { path: NOTE }, priority: 3 },
    ]);
    const done = await Promise.all(results.map((r) => tf.wait(r.id)));
    for (const task of done) assertEquals(task.status, "succeeded", task.error?.message);
    assertEquals(log.startOrder(), results.map((r) => r.id), "priority order holds");
    const switches = log.events.filter((e): e is WorkerEvent =>
      e.type === "worker.exited" && e.reason === "switching permissions"
    );
    assert(switches.length >= 2, `${switches.length} switches`);
    await waitAllIdle(tf);
    assertEquals(tf.workers()[0].restarts, 0, "switching permissions is not a restart");
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("sandbox: a worker replaced after a timeout keeps its permission group", async () => {
  const tf = await ThreadFlow.start({ workers: 1, tasksDir: SANDBOX_TASKS });
  const log = new EventLog(tf);
  try {
    const first = await tf.wait(
      (await tf.submit({ type: "reads_here", payload: { path: NOTE } })).id,
    );
    assertEquals(first.status, "succeeded");
    const spin = await tf.wait((await tf.submit({ type: "blocks_here", timeoutMs: 150 })).id);
    assertEquals(spin.error?.name, "TimeoutError");
    const again = await tf.wait(
      (await tf.submit({ type: "reads_here", payload: { path: NOTE } })).id,
    );
    assertEquals(again.status, "succeeded", again.error?.message);
    const reasons = log.events
      .filter((e): e is WorkerEvent => e.type === "worker.exited")
      .map((e) => e.reason);
    assertEquals(reasons.slice(1), ["timeout"], "no permission switch after the replacement");
    await waitAllIdle(tf);
    assertEquals(tf.workers()[0].restarts, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("sandbox: a refused module among many leaves no probe worker or timer behind", async () => {
  // The sanitizers fail this test if the other modules' probes outlive the rejection.
  const error = await assertRejects(
    () => loadTaskTypes(fixtureDir("tasks_many"), resolveOptions({ workers: 1 })),
    InvalidOptionError,
    "zz_no_default.ts",
  );
  assertEquals(error.field, "tasksDir");
});

Deno.test("sandbox: ThreadFlow.start with a refused module among many cleans up too", async () => {
  await assertRejects(
    () => ThreadFlow.start({ workers: 2, tasksDir: fixtureDir("tasks_many") }),
    InvalidOptionError,
    "zz_no_default.ts",
  );
});
