/**
 * Schedules in a real engine on real time: tasks fired by `@every 1s` run,
 * and on SQLite each tick fires exactly once across a restart (ticks missed
 * while closed caught up with `catchUp: "all"`, none twice).
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ThreadFlow } from "../../mod.ts";
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
