/**
 * A library program for the process-isolation tests, run as a child process
 * (`deno run -A tests/engine/_process_child.ts <mode>`), so its exit is what
 * the test observes. It prints one JSON line, then:
 *
 * - `timeout`: a never-returning task in a worker process with `timeoutMs:
 *   300`; prints the task, closes, and must exit by itself.
 * - `orphan`: starts worker processes, one spinning in a task, prints their
 *   pids and the warm spare's, and waits to be SIGKILLed.
 * - `stuck`: thread mode: a spinning task times out, its thread keeps running;
 *   prints what the engine saw and how the type runs next, closes, exits.
 *
 * @module
 */

import { ThreadFlow } from "../../mod.ts";

const PROCESS_TASKS = new URL("../fixtures/tasks_process/", import.meta.url);
const THREAD_TASKS = new URL("../fixtures/tasks/", import.meta.url);
const mode = Deno.args[0];

if (mode === "timeout") {
  const tf = await ThreadFlow.start({ workers: 1, tasksDir: PROCESS_TASKS });
  const task = await tf.submit({ type: "never", timeoutMs: 300 });
  const done = await tf.wait(task.id);
  const pid = tf.workers().find((worker) => worker.isolation === "process")?.pid;
  console.log(JSON.stringify({ status: done.status, error: done.error?.name, pid }));
  await tf.close();
} else if (mode === "orphan") {
  const tf = await ThreadFlow.start({ workers: 2, tasksDir: PROCESS_TASKS });
  await tf.submit({ type: "never" });
  await tf.submit({ type: "nap", payload: { ms: 60_000 } });
  const processes = () => tf.workers().filter((worker) => worker.isolation === "process");
  // Process slots start with the first task that needs one.
  while (processes().length < 2 || processes().some((worker) => worker.state !== "busy")) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // The slots' processes and the spare that boots beside them: every child process.
  const children = () =>
    [...Deno.readDirSync(`/proc/${Deno.pid}/task`)].flatMap((thread) =>
      Deno.readTextFileSync(`/proc/${Deno.pid}/task/${thread.name}/children`).trim().split(/\s+/)
        .filter((pid) => pid !== "").map(Number)
    );
  while (children().length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(JSON.stringify({ pids: children() }));
  await new Promise(() => setInterval(() => {}, 1_000)); // until SIGKILL
} else if (mode === "stuck") {
  const tf = await ThreadFlow.start({ workers: 1, tasksDir: THREAD_TASKS });
  const first = await tf.wait((await tf.submit({ type: "spin", timeoutMs: 300 })).id);
  const started = Date.now();
  while (tf.stuckThreads().length === 0 && Date.now() - started < 10_000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const stuck = tf.stuckThreads();
  const second = await tf.wait((await tf.submit({ type: "spin", timeoutMs: 300 })).id);
  const ok = await tf.wait((await tf.submit({ type: "spin", timeoutMs: 300 })).id);
  const isolations = tf.workers().map((worker) => worker.isolation);
  console.log(JSON.stringify({
    first: first.error?.name,
    stuck: stuck.map((thread) => ({ types: thread.types, cpuPercent: thread.cpuPercent })),
    second: second.error?.name,
    third: ok.error?.name,
    isolations,
    stuckAfter: tf.stuckThreads().length,
  }));
  await tf.close();
  // The stuck thread would keep this process alive: close() warned about it.
  Deno.exit(0);
}
