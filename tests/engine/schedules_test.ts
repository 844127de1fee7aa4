/**
 * Schedules on a fake clock: cron and `@every` timing, each catch-up policy
 * after downtime, overlap `skip`, the catch-up bound, and a tick submitted
 * again after a lost record (exactly once by its idempotency key). The
 * schedules run over a real memory store; their tasks are built as a submit
 * builds them.
 */

import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { buildTask } from "../../engine/facade/submit.ts";
import { resolveOptions } from "../../engine/facade/options.ts";
import { Schedules } from "../../engine/facade/schedules.ts";
import type { ScheduleEvent } from "../../engine/model/events.ts";
import { dueTicks, MAX_CATCH_UP_TICKS, scheduleTiming } from "../../engine/model/schedule.ts";
import type { Task } from "../../engine/model/task.ts";
import { MemoryStore } from "../../engine/store/memory_store.ts";
import { ScheduleExistsError, ScheduleNotFoundError, ValidationError } from "../../mod.ts";

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0); // a Monday, noon UTC
const MINUTE = 60_000;

/** Schedules over `store` on a fake clock, with what they submitted and announced. */
function harness(store = new MemoryStore(), now = T0) {
  const clock = FakeTimers.createClock(now);
  const options = resolveOptions({});
  const context = { options, hasTaskType: (type: string) => ["noop", "fib"].includes(type) };
  const events: ScheduleEvent[] = [];
  const make = () =>
    new Schedules({
      store,
      shared: false,
      owner: "test",
      clock: {
        now: () => clock.now,
        setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
        clearTimeout: (id) => clock.clearTimeout(id as FakeTimers.TimerId),
      },
      checkTask: (task) => void buildTask(task, context, clock.now, "task."),
      assertAccepting: () => {},
      submit: async (input, schedule) => {
        const task = buildTask(input, context, clock.now);
        task.schedule = schedule;
        const [outcome] = await store.insert([task]);
        return outcome;
      },
      task: (id) => store.get(id),
      emit: (event) => events.push({ ...event, seq: events.length + 1 }),
    });
  return { store, clock, events, make };
}

async function scheduledTasks(store: MemoryStore): Promise<Task[]> {
  const page = await store.list({ limit: 10_000 });
  return page.tasks.filter((task) => task.schedule !== undefined).reverse();
}

const fired = (events: ScheduleEvent[]) =>
  events.filter((e) => e.type === "schedule.fired").map((e) => e.tick! - T0);

Deno.test("schedule timing: cron in a time zone, @every from its anchor, croner's errors", () => {
  const paris = scheduleTiming("0 3 * * *", "Europe/Paris", T0);
  assertEquals(new Date(paris.next(T0)!).toISOString(), "2026-01-06T02:00:00.000Z");
  assertEquals(new Date(paris.latest(T0)!).toISOString(), "2026-01-05T02:00:00.000Z");
  assertEquals(paris.upcoming(T0, 2).map((t) => new Date(t).toISOString()), [
    "2026-01-06T02:00:00.000Z",
    "2026-01-07T02:00:00.000Z",
  ]);
  const every = scheduleTiming("@every 90s", "UTC", 1_000);
  assertEquals([every.next(1_000), every.next(91_000), every.latest(200_000)], [
    91_000,
    181_000,
    181_000,
  ]);
  assertEquals(every.recent(181_000, 5), [1_000, 91_000, 181_000]);
  assertEquals(scheduleTiming("@every 1500ms", "UTC", 1_234).next(1_234), 2_734);
  // Whole seconds tick on whole seconds, from the second of creation.
  assertEquals(scheduleTiming("@every 2s", "UTC", 1_234).next(1_234), 3_000);
  assertEquals(scheduleTiming("@every 2h", "UTC", 0).next(0), 7_200_000);
  const refused = (cron: string, timezone = "UTC") => {
    try {
      scheduleTiming(cron, timezone, 0);
    } catch (error) {
      assert(error instanceof ValidationError);
      return [error.field, error.message] as const;
    }
    throw new Error(`${cron} was accepted`);
  };
  const [field, message] = refused("61 * * * *");
  assertEquals(field, "cron");
  assert(message.includes("Invalid value for minute: 61"), message); // croner's own words
  assertEquals(refused("* * * *")[0], "cron");
  assertEquals(refused("@every 10 parsecs")[0], "cron");
  assertEquals(refused("@every 10ms")[0], "cron"); // under a second
  assertEquals(refused("0 0 30 2 *")[0], "cron"); // February 30th never comes
  assertEquals(refused("* * * * *", "Mars/Olympus_Mons")[0], "timezone");
});

Deno.test("dueTicks: latest, all (bounded) and none after a gap", () => {
  const timing = scheduleTiming("@every 1s", "UTC", 0);
  assertEquals(dueTicks(timing, 1_000, 999, "latest"), {
    fire: [],
    leftOut: false,
    nextRunAt: 1_000,
  });
  assertEquals(dueTicks(timing, 1_000, 1_005, "none"), {
    fire: [1_000],
    leftOut: false,
    nextRunAt: 2_000,
  });
  assertEquals(dueTicks(timing, 1_000, 3_500, "latest"), {
    fire: [3_000],
    leftOut: true,
    nextRunAt: 4_000,
  });
  assertEquals(dueTicks(timing, 1_000, 3_500, "all").fire, [1_000, 2_000, 3_000]);
  // A tick under 5 s late is merely late; past that, `none` drops it.
  const hourly = scheduleTiming("0 * * * *", "UTC", 0);
  assertEquals(dueTicks(hourly, 3_600_000, 3_604_000, "none").fire, [3_600_000]);
  assertEquals(dueTicks(hourly, 3_600_000, 3 * 3_600_000 + 61_000, "none").fire, []);
  const bounded = dueTicks(timing, 1_000, 5_000_000, "all");
  assertEquals(bounded.fire.length, MAX_CATCH_UP_TICKS);
  assertEquals(bounded.fire[MAX_CATCH_UP_TICKS - 1], 5_000_000);
  assertEquals(bounded.leftOut, true);
});

Deno.test("schedules: every tick fires once on time, with the schedule and tick on its task", async () => {
  const { store, clock, events, make } = harness();
  const schedules = make();
  schedules.start();
  try {
    const created = await schedules.create({
      name: "minutely",
      cron: "* * * * *",
      task: { type: "noop", payload: { from: "cron" }, priority: 8 },
    });
    assertEquals(created.nextRuns.length, 5);
    assertEquals(created.nextRuns[0] - T0, MINUTE);
    await clock.tickAsync(10 * MINUTE);
    assertEquals(fired(events), Array.from({ length: 10 }, (_, i) => (i + 1) * MINUTE));
    const tasks = await scheduledTasks(store);
    assertEquals(tasks.length, 10);
    assertEquals(tasks[0].schedule, { name: "minutely", tick: T0 + MINUTE });
    assertEquals(tasks[0].idempotencyKey, "schedule:minutely:2026-01-05T12:01:00.000Z");
    assertEquals([tasks[0].payload, tasks[0].priority], [{ from: "cron" }, 8]);
    const after = await schedules.get("minutely");
    assertEquals([after?.lastTick, after?.lastTaskId], [T0 + 10 * MINUTE, tasks[9].id]);
    assertEquals(after?.nextRunAt, T0 + 11 * MINUTE);
  } finally {
    await schedules.close();
  }
});

Deno.test("schedules: pause stops ticks, resume goes on from now without catching up", async () => {
  const { clock, events, make } = harness();
  const schedules = make();
  schedules.start();
  try {
    await schedules.create({ name: "beat", cron: "@every 1m", task: { type: "noop" } });
    await clock.tickAsync(2 * MINUTE);
    const paused = await schedules.pause("beat");
    assertEquals([paused.paused, paused.nextRuns], [true, []]);
    await clock.tickAsync(5 * MINUTE + 30_000);
    assertEquals(fired(events), [MINUTE, 2 * MINUTE]);
    const resumed = await schedules.update("beat", { paused: false, task: { type: "fib" } });
    assertEquals(resumed.nextRunAt! - T0, 8 * MINUTE);
    await clock.tickAsync(MINUTE);
    assertEquals(fired(events), [MINUTE, 2 * MINUTE, 8 * MINUTE]);
    assertEquals(
      events.map((e) => e.type).filter((t) => t !== "schedule.fired"),
      ["schedule.created", "schedule.paused", "schedule.updated", "schedule.resumed"],
    );
    const deleted = await schedules.delete("beat");
    assertEquals(deleted.name, "beat");
    await clock.tickAsync(5 * MINUTE);
    assertEquals(fired(events).length, 3);
    await rejects(schedules.delete("beat"), ScheduleNotFoundError);
    await rejects(schedules.pause("beat"), ScheduleNotFoundError);
  } finally {
    await schedules.close();
  }
});

for (
  const [catchUp, expected] of [
    ["latest", [10 * MINUTE]],
    ["all", Array.from({ length: 10 }, (_, i) => (i + 1) * MINUTE)],
    ["none", []],
  ] as const
) {
  Deno.test(`schedules: ticks missed while down follow catchUp "${catchUp}"`, async () => {
    const { store, clock, events, make } = harness();
    const before = make();
    await before.create({ name: "m", cron: "* * * * *", task: { type: "noop" }, catchUp });
    // Nothing runs for ten and a half minutes, then an engine starts.
    await clock.tickAsync(10 * MINUTE + 30_000);
    const after = make();
    after.start();
    try {
      await clock.tickAsync(0);
      assertEquals(fired(events), [...expected]);
      const schedule = await after.get("m");
      assertEquals(schedule?.nextRunAt! - T0, 11 * MINUTE); // the next tick after now
      assertEquals((await scheduledTasks(store)).length, expected.length);
      await clock.tickAsync(MINUTE);
      assertEquals(fired(events).slice(-1), [11 * MINUTE]);
    } finally {
      await after.close();
    }
  });
}

Deno.test('schedules: catchUp "all" fires at most the latest 1,000 missed ticks', async () => {
  const { store, clock, events, make } = harness();
  const before = make();
  await before.create({ name: "s", cron: "@every 1s", task: { type: "noop" }, catchUp: "all" });
  await clock.tickAsync(2_500_000);
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  const after = make();
  after.start();
  try {
    await clock.tickAsync(0);
  } finally {
    console.warn = warn;
    await after.close();
  }
  const ticks = fired(events);
  assertEquals(ticks.length, MAX_CATCH_UP_TICKS);
  assertEquals([ticks[0], ticks[ticks.length - 1]], [1_501_000, 2_500_000]);
  assertEquals((await scheduledTasks(store)).length, MAX_CATCH_UP_TICKS);
  assert(warnings.some((w) => w.includes('"s" missed more than 1000 ticks')), warnings.join());
});

Deno.test("schedules: overlap skip fires nothing while the last task is unfinished", async () => {
  const { store, clock, events, make } = harness();
  const schedules = make();
  schedules.start();
  try {
    await schedules.create({
      name: "slow",
      cron: "@every 1m",
      task: { type: "noop" },
      overlap: "skip",
    });
    await clock.tickAsync(3 * MINUTE);
    // No engine runs the first task: it stays queued, so ticks 2 and 3 are skipped.
    assertEquals(fired(events), [MINUTE]);
    const skipped = events.filter((e) => e.type === "schedule.skipped");
    assertEquals(skipped.map((e) => e.tick! - T0), [2 * MINUTE, 3 * MINUTE]);
    const [first] = await scheduledTasks(store);
    assertEquals(skipped[0].taskId, first.id);
    await store.write([{ ...first, status: "succeeded", finishedAt: clock.now }]);
    await clock.tickAsync(MINUTE);
    assertEquals(fired(events), [MINUTE, 4 * MINUTE]);
  } finally {
    await schedules.close();
  }
});

Deno.test("schedules: a tick submitted again after its record was lost creates no second task", async () => {
  const { store, clock, events, make } = harness();
  const first = make();
  first.start();
  await first.create({ name: "once", cron: "@every 1m", task: { type: "noop" } });
  await clock.tickAsync(MINUTE);
  await first.close();
  assertEquals(fired(events), [MINUTE]);
  // As if the process died after submitting the tick's task but before advancing the schedule.
  const saved = (await store.getSchedule("once"))!;
  await store.updateSchedule("once", { ...saved, nextRunAt: T0 + MINUTE });
  const second = make();
  second.start();
  try {
    await clock.tickAsync(0);
    assertEquals(fired(events), [MINUTE], "no second fired event");
    assertEquals((await scheduledTasks(store)).length, 1, "no second task");
    assertEquals((await store.getSchedule("once"))?.nextRunAt, T0 + 2 * MINUTE);
  } finally {
    await second.close();
  }
});

Deno.test("schedules: bad input names its field; a taken name is refused", async () => {
  const { make } = harness();
  const schedules = make();
  const field = async (input: unknown) => {
    try {
      await schedules.create(input as never);
    } catch (error) {
      return [(error as ValidationError).code, (error as ValidationError).field];
    }
    throw new Error("accepted");
  };
  const task = { type: "noop" };
  assertEquals(await field({ name: "bad name!", cron: "* * * * *", task }), [
    "validation_error",
    "name",
  ]);
  assertEquals(await field({ name: "a", cron: 5, task }), ["validation_error", "cron"]);
  assertEquals(await field({ name: "a", cron: "* * * * *", task: { type: "nope" } }), [
    "unknown_task_type",
    "task.type",
  ]);
  assertEquals(
    await field({ name: "a", cron: "* * * * *", task: { type: "noop", priority: 11 } }),
    [
      "validation_error",
      "task.priority",
    ],
  );
  assertEquals(await field({ name: "a", cron: "* * * * *", task: { type: "noop", runAt: 1 } }), [
    "validation_error",
    "task.runAt",
  ]);
  assertEquals(await field({ name: "a", cron: "* * * * *", task, overlap: "maybe" }), [
    "validation_error",
    "overlap",
  ]);
  assertEquals(await field({ name: "a", cron: "* * * * *", task, catchUp: 1 }), [
    "validation_error",
    "catchUp",
  ]);
  assertEquals(await field({ name: "a", cron: "* * * * *", task, extra: 1 }), [
    "validation_error",
    "extra",
  ]);
  const big = { type: "noop", payload: "x".repeat(5_000) };
  assertEquals(await field({ name: "a", cron: "* * * * *", task: big }), [
    "validation_error",
    "task.payload",
  ]);
  await schedules.create({ name: "a", cron: "* * * * *", task });
  await rejects(schedules.create({ name: "a", cron: "@every 5s", task }), ScheduleExistsError);
  await rejects(schedules.update("a", { cron: "nope" }), ValidationError);
  assertEquals((await schedules.get("a"))?.cron, "* * * * *", "a refused change changes nothing");
});
