/**
 * Schedules in a real engine on real time: tasks fired by `@every 1s` run,
 * and on SQLite each tick fires exactly once across a restart and across a
 * process killed with SIGKILL (ticks missed while down caught up with
 * `catchUp: "all"`, none twice).
 */

import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ClosedError, ThreadFlow } from "../../mod.ts";
import type { ScheduleEvent, Task } from "../../mod.ts";
import { waitFor } from "./_helpers.ts";

async function scheduled(tf: ThreadFlow, name: string): Promise<Task[]> {
  const page = await tf.list({ limit: 1000 });
  return page.tasks.filter((task) => task.schedule?.name === name).reverse();
}

Deno.test("schedules: a SQLite engine fires each tick once across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "threadflow-schedules-" });
  const store = `sqlite:${dir}/tasks.db`;
  const fired: ScheduleEvent[] = [];
  const listen = (tf: ThreadFlow) =>
    tf.on((event) => {
      if (event.type === "schedule.fired") fired.push(event);
    });
  try {
    const first = await ThreadFlow.start({ workers: 1, store });
    listen(first);
    const created = await first.schedules.create({
      name: "beat",
      cron: "@every 1s",
      task: { type: "noop", payload: { beat: true } },
      catchUp: "all",
    });
    await waitFor(() => fired.length >= 2, "two fires", 20_000);
    await first.close();
    await rejects(first.schedules.pause("beat"), ClosedError);
    const before = fired.length;
    // Down for over a second: the tick missed meanwhile is caught up at the next start.
    await new Promise((resolve) => setTimeout(resolve, 1_300));

    const second = await ThreadFlow.start({ workers: 1, store });
    listen(second);
    try {
      await waitFor(() => fired.length >= before + 3, "three more fires", 20_000);
      await second.schedules.pause("beat");
      const tasks = await scheduled(second, "beat");
      const ticks = tasks.map((task) => task.schedule!.tick);
      assertEquals(new Set(ticks).size, ticks.length, "no tick fired twice");
      assertEquals(ticks.length, fired.length, "one fired event per task");
      assertEquals(
        ticks,
        ticks.map((_, i) => Math.floor(created.createdAt / 1_000) * 1_000 + (i + 1) * 1_000),
        "every tick from creation on, none missing",
      );
      for (const task of tasks.slice(0, -1)) {
        const done = await second.wait(task.id);
        assertEquals([done.status, done.payload], ["succeeded", { beat: true }]);
      }
      assert(fired.every((event) => event.taskId !== undefined));
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs the crash child on `path` until it printed `fires` FIRED lines, then SIGKILLs it. */
async function runUntilKilled(path: string, fires: number): Promise<number[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_schedule_crash_child.ts", import.meta.url).pathname, path],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const fired: number[] = [];
  let buffer = "";
  try {
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += text;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("FIRED ")) fired.push(Number(line.slice(6)));
      }
      if (fired.length >= fires) break;
    }
    if (fired.length < fires) throw new Error(`the child exited early: ${await stderr}`);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await stderr;
  }
  return fired;
}

Deno.test("schedules: on SQLite no tick fires twice, nor goes missing, across a SIGKILL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "threadflow-schedule-crash-" });
  const path = `${dir}/tasks.db`;
  try {
    const before = await runUntilKilled(path, 3);
    const after = await runUntilKilled(path, 3);
    const db = new DatabaseSync(path);
    const rows = db.prepare(
      "SELECT schedule_tick AS tick FROM tasks WHERE schedule_name = 'beat' ORDER BY schedule_tick",
    ).all() as { tick: number }[];
    db.close();
    const ticks = rows.map((row) => row.tick);
    assertEquals(new Set(ticks).size, ticks.length, "no tick has two tasks");
    for (let i = 1; i < ticks.length; i++) {
      assertEquals(ticks[i] - ticks[i - 1], 1_000, "no tick missing between the first and last");
    }
    const fired = [...before, ...after];
    assertEquals(new Set(fired).size, fired.length, "no tick announced twice");
    for (const tick of fired) assert(ticks.includes(tick), `fired tick ${tick} has its task`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
