/**
 * Process isolation: task types that run in worker processes (a Deno
 * subprocess per slot). Real processes throughout: they are killed, checked
 * with `ps`, and a library program using them runs as a child process.
 */

import { ThreadFlow } from "../../engine/facade/thread_flow.ts";
import type { WorkerInfo } from "../../engine/model/events.ts";
import { assert, assertEquals, fixtureDir, waitFor } from "./_helpers.ts";

const PROCESS_TASKS = fixtureDir("tasks_process");
const CHILD = new URL("./_process_child.ts", import.meta.url).pathname;

/** Whether process `pid` exists (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

/** Live worker processes this process started (from `/proc`: a spare is listed nowhere else). */
function children(): number[] {
  const pids: number[] = [];
  for (const thread of Deno.readDirSync(`/proc/${Deno.pid}/task`)) {
    let list: string;
    try {
      list = Deno.readTextFileSync(`/proc/${Deno.pid}/task/${thread.name}/children`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // the thread ended since the listing
      throw error;
    }
    for (const pid of list.trim().split(/\s+/)) if (pid !== "") pids.push(Number(pid));
  }
  // `deno test --parallel` runs other test files in this same process: their children (a
  // `deno run` of some script) are not ThreadFlow's worker processes, which run its host module.
  return pids.filter((pid) => alive(pid) && isWorkerProcess(pid));
}

/** Whether `pid` runs ThreadFlow's worker host (a worker process or a spare). */
function isWorkerProcess(pid: number): boolean {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("hostWorker");
  } catch {
    return false;
  }
}

/** A process's id and command line, for failure messages. */
function describeProcess(pid: number): string {
  try {
    const command = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").join(" ");
    return `${pid} ${command.slice(0, 160)}`;
  } catch {
    return `${pid} (gone)`;
  }
}

/** Deno processes `ps` lists among `pids`. */
async function listed(pids: number[]): Promise<number[]> {
  const { stdout } = await new Deno.Command("ps", {
    args: ["-o", "pid=,stat=", "-p", pids.join(",")],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout).trim().split("\n").filter((line) => line.trim() !== "")
    .filter((line) => !line.trim().split(/\s+/)[1].startsWith("Z"))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/** The service's own permissions (`deno task start`): no `-A`, so `/proc` is closed and `ps` is used. */
const SERVICE_FLAGS = ["--allow-read", "--allow-env", "--allow-run=deno,ps"];

/** The first slot whose workers are processes. */
function processWorker(tf: ThreadFlow): WorkerInfo {
  const worker = tf.workers().find((w) => w.isolation === "process");
  assert(worker !== undefined, "No process slot.");
  return worker;
}

function runChild(mode: string, flags = ["-A"]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, CHILD, mode],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** The first line the child prints, parsed. */
async function firstLine(child: Deno.ChildProcess): Promise<Record<string, unknown>> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return JSON.parse(text.split("\n")[0]);
}

Deno.test("process isolation: a task runs in a worker process of its own; its stdout output does not break the stream", async () => {
  const tf = await ThreadFlow.start({ workers: 2, tasksDir: PROCESS_TASKS });
  try {
    const echo = await tf.wait((await tf.submit({ type: "echo", payload: { n: 1 } })).id);
    assertEquals(echo.status, "succeeded");
    const { payload, pid } = echo.result as { payload: unknown; pid: number };
    assertEquals(payload, { n: 1 });
    assert(pid !== Deno.pid, "The task ran in this process.");
    const chatty = await tf.wait((await tf.submit({ type: "chatty", payload: [1, "two"] })).id);
    assertEquals(chatty.status, "succeeded");
    assertEquals(chatty.result, [1, "two"]);
    assert(tf.workers().some((worker) => worker.isolation === "process" && worker.pid === pid));
    // Figures are read in the background: a listing shows the previous reading.
    const measured = () => tf.workers().find((worker) => worker.pid === pid)!;
    await waitFor(() => typeof measured().memoryBytes === "number", "the process's figures");
    assert(measured().memoryBytes! > 0);
    assert(typeof measured().cpuMs === "number");
  } finally {
    await tf.close();
  }
});

Deno.test("process isolation: a task that never returns fails with TimeoutError and its process is killed at once", async () => {
  const tf = await ThreadFlow.start({ workers: 1, tasksDir: PROCESS_TASKS });
  try {
    // Start a worker process for the type first, so its pid is known.
    await tf.wait((await tf.submit({ type: "echo", payload: 1 })).id);
    const pid = processWorker(tf).pid!;
    const task = await tf.submit({ type: "never", timeoutMs: 300 });
    await waitFor(async () => (await tf.get(task.id))?.status === "running", "the task to run");
    const done = await tf.wait(task.id);
    assertEquals(done.status, "failed");
    assertEquals(done.error?.name, "TimeoutError");
    const endedAt = Date.now();
    // The spinning process is gone within a second: its core is free.
    await waitFor(() => !alive(pid), "the killed process to be gone", 1_000);
    assert(Date.now() - endedAt <= 1_000);
    // The slot was respawned and runs the next task.
    const next = await tf.wait((await tf.submit({ type: "echo", payload: 2 })).id);
    assertEquals(next.status, "succeeded");
    assert((next.result as { pid: number }).pid !== pid);
    assert(processWorker(tf).restarts >= 1);
  } finally {
    await tf.close();
  }
});

Deno.test("process isolation: a killed process slot comes back on the warm spare started ahead of time, and runs the next task; close() leaves no child process", async () => {
  const tf = await ThreadFlow.start({ workers: 1, tasksDir: PROCESS_TASKS });
  try {
    await tf.wait((await tf.submit({ type: "echo", payload: 1 })).id);
    const pid = processWorker(tf).pid!;
    // Once the process slot is ready, one spare boots beside it, and only one.
    await waitFor(() => children().length === 2, "the spare process");
    const spare = children().find((child) => child !== pid)!;
    const task = await tf.submit({ type: "never", timeoutMs: 300 });
    const done = await tf.wait(task.id);
    assertEquals(done.status, "failed");
    assertEquals(done.error?.name, "TimeoutError");
    // The slot's new process is the spare, and it runs the next task.
    await waitFor(() => processWorker(tf).pid === spare, "the slot to take the spare");
    const next = await tf.wait((await tf.submit({ type: "echo", payload: 2 })).id);
    assertEquals(next.status, "succeeded");
    assertEquals((next.result as { pid: number }).pid, spare);
    // A new spare replaces the one taken; the killed process is gone.
    await waitFor(() => children().length === 2 && !children().includes(pid), "a new spare");
  } finally {
    await tf.close();
  }
  assertEquals(children(), []);
});

Deno.test("process isolation: a library program whose task timed out exits by itself after close()", async () => {
  const child = runChild("timeout");
  const line = await firstLine(child);
  assertEquals(line.status, "failed");
  assertEquals(line.error, "TimeoutError");
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const status = await child.status;
  clearTimeout(timer);
  await child.stderr.cancel();
  assertEquals(status.code, 0, "The program did not exit by itself after close().");
  assertEquals(status.signal, null);
});

Deno.test("process isolation: a heap bomb with memoryLimitMb 64 fails alone; the service and other tasks carry on", async () => {
  const tf = await ThreadFlow.start({ workers: 2, tasksDir: PROCESS_TASKS });
  try {
    const bomb = await tf.submit({ type: "heap_bomb" });
    const others = await tf.submitBatch(
      Array.from({ length: 20 }, (_, i) => ({ type: "nap", payload: { ms: 5 + i } })),
    );
    const done = await tf.wait(bomb.id);
    assertEquals(done.status, "failed");
    assertEquals(done.error?.name, "OutOfMemoryError");
    assert(/64 MB/.test(done.error!.message), done.error!.message);
    for (const task of others) assertEquals((await tf.wait(task.id)).status, "succeeded");
    assertEquals(tf.state, "running");
    const after = await tf.wait((await tf.submit({ type: "echo", payload: "after" })).id);
    assertEquals(after.status, "succeeded");
  } finally {
    await tf.close();
  }
});

Deno.test("process isolation: a worker process has only its type's permissions", async () => {
  Deno.env.set("THREADFLOW_PROCESS_TEST", "visible");
  const tf = await ThreadFlow.start({ workers: 2, tasksDir: PROCESS_TASKS });
  try {
    for (const kind of ["read", "env", "net", "run"]) {
      const done = await tf.wait((await tf.submit({ type: "denied", payload: kind })).id);
      assertEquals(done.status, "succeeded");
      assertEquals(done.result, "NotCapable", `${kind} was not denied`);
    }
    const env = await tf.wait((await tf.submit({ type: "env_reader" })).id);
    assertEquals(env.result, "visible");
  } finally {
    await tf.close();
    Deno.env.delete("THREADFLOW_PROCESS_TEST");
  }
});

Deno.test("process isolation: SIGKILL of a worker process fails or retries only its own task", async () => {
  const tf = await ThreadFlow.start({ workers: 2, tasksDir: PROCESS_TASKS, backoffMs: 0 });
  try {
    const a = await tf.submit({ type: "nap", payload: { ms: 1_500 }, maxAttempts: 1 });
    const b = await tf.submit({ type: "nap", payload: { ms: 1_500 } });
    const c = await tf.submit({ type: "nap", payload: { ms: 1_500 }, maxAttempts: 2 });
    await waitFor(async () => (await tf.get(a.id))?.status === "running", "a to run");
    await waitFor(async () => (await tf.get(b.id))?.status === "running", "b to run");
    const slotOfA = (await tf.get(a.id))!;
    const worker = tf.workers().find((w) => w.taskIds.includes(slotOfA.id))!;
    Deno.kill(worker.pid!, "SIGKILL");
    const doneA = await tf.wait(a.id);
    assertEquals(doneA.status, "failed");
    assertEquals(doneA.error?.name, "WorkerExitedError");
    assert(/SIGKILL/.test(doneA.error!.message), doneA.error!.message);
    assertEquals((await tf.wait(b.id)).status, "succeeded");
    assertEquals((await tf.wait(c.id)).status, "succeeded");
  } finally {
    await tf.close();
  }
});

Deno.test("process isolation: a task retried after its process was killed runs again", async () => {
  const tf = await ThreadFlow.start({ workers: 1, tasksDir: PROCESS_TASKS, backoffMs: 0 });
  try {
    const task = await tf.submit({ type: "nap", payload: { ms: 1_000 }, maxAttempts: 2 });
    await waitFor(async () => (await tf.get(task.id))?.status === "running", "the task to run");
    Deno.kill(processWorker(tf).pid!, "SIGKILL");
    const done = await tf.wait(task.id);
    assertEquals(done.status, "succeeded");
    assertEquals(done.attempts, 2);
  } finally {
    await tf.close();
  }
});

Deno.test("process isolation: close() leaves no worker process (ps)", async () => {
  const tf = await ThreadFlow.start({ workers: 2, tasksDir: PROCESS_TASKS });
  const never = await tf.submit({ type: "never" });
  await tf.submit({ type: "nap", payload: { ms: 30_000 } });
  await waitFor(async () => (await tf.get(never.id))?.status === "running", "never to run");
  const pids = tf.workers().map((worker) => worker.pid).filter((pid) => pid != null);
  assertEquals(pids.length, 2);
  assertEquals((await listed(pids as number[])).length, 2);
  // The slots' processes and their spare.
  await waitFor(() => children().length === 3, "the spare process");
  const before = children();
  await tf.close({ drainMs: 0 });
  assertEquals(await listed(pids as number[]), []);
  const left = children();
  assertEquals(
    left.map(describeProcess),
    [],
    `children before close: ${before.map(describeProcess).join("; ")}`,
  );
});

Deno.test("process isolation: worker processes exit when the service is SIGKILLed", async () => {
  const child = runChild("orphan");
  const { pids } = await firstLine(child) as { pids: number[] };
  // Two slots' processes and their spare.
  assertEquals(pids.length, 3);
  assertEquals((await listed(pids)).length, 3);
  child.kill("SIGKILL");
  await child.status;
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel();
  // Orphans notice their closed stdin, even while a task spins, and exit.
  await waitFor(async () => (await listed(pids)).length === 0, "the orphans to exit", 5_000);
});

Deno.test("process isolation: a user type runs in a process with isolation: 'process'; built-ins stay in threads", async () => {
  const tf = await ThreadFlow.start({
    workers: 1,
    tasksDir: fixtureDir("tasks"),
    isolation: "process",
  });
  try {
    const types = new Map(tf.taskTypes().map((info) => [info.name, info]));
    assertEquals(types.get("noop")!.isolation, "thread");
    assertEquals(types.get("throws")!.isolation, "process");
    // Process slots start with the first task that needs one, beside the thread slots.
    assertEquals(tf.workers().map((worker) => worker.isolation), ["thread"]);
    const done = await tf.wait((await tf.submit({ type: "throws" })).id);
    assertEquals(done.status, "failed");
    assertEquals(tf.workers().map((worker) => worker.isolation), ["thread", "process"]);
    assertEquals(processWorker(tf).failed, 1);
    const noop = await tf.wait((await tf.submit({ type: "noop", payload: 1 })).id);
    assertEquals(noop.status, "succeeded");
    assertEquals(tf.workers()[0].completed, 1);
  } finally {
    await tf.close();
  }
});

for (const [how, flags] of [["/proc", ["-A"]], ["ps", SERVICE_FLAGS]] as const) {
  Deno.test(`thread isolation: a stuck thread is detected (${how}), reported, and its type moves to processes`, async () => {
    const child = runChild("stuck", [...flags]);
    const line = await firstLine(child);
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const status = await child.status;
    clearTimeout(timer);
    const stderr = await new Response(child.stderr).text();
    assertEquals(status.code, 0);
    assertEquals(line.first, "TimeoutError");
    const stuck = line.stuck as Array<{ types: string[]; cpuPercent: number }>;
    assertEquals(stuck.length, 1);
    assertEquals(stuck[0].types, ["spin"]);
    assertEquals(line.second, "TimeoutError");
    assertEquals(line.third, "TimeoutError");
    // The type moved to process slots, added beside the thread slot.
    assertEquals(line.isolations, ["thread", "process"]);
    assertEquals(
      line.stuckAfter,
      1,
      "Only the first run's thread is stuck: the others were processes.",
    );
    assert(/keeps running after it was terminated/.test(stderr), stderr);
    assert(/isolation = "process"/.test(stderr), stderr);
    assert(/will not exit by itself/.test(stderr), "close() did not warn about the stuck thread.");
  });
}

Deno.test("process isolation: module exports are checked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/bad.ts`,
      `export const isolation = "thread";\nexport const memoryLimitMb = 64;\nexport default () => 1;\n`,
    );
    let error: Error | undefined;
    try {
      await ThreadFlow.start({ workers: 1, tasksDir: dir });
    } catch (caught) {
      error = caught as Error;
    }
    assert(error !== undefined && /only a worker process has a heap limit/.test(error.message));
    await Deno.writeTextFile(
      `${dir}/bad.ts`,
      `export const isolation = "vm";\nexport default () => 1;\n`,
    );
    error = undefined;
    try {
      await ThreadFlow.start({ workers: 1, tasksDir: dir });
    } catch (caught) {
      error = caught as Error;
    }
    assert(error !== undefined && /"thread" or "process"/.test(error.message), error?.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
