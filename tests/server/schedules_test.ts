/**
 * Schedules over HTTP and WebSocket: create, list with next ticks, read,
 * pause and resume with PATCH, delete; every refusal names its field; a
 * subscriber of the task type sees each change and each fire.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { requestJson, startService } from "./_service.ts";
import { TestClient } from "./_ws_client.ts";

type Json = Record<string, unknown>;

Deno.test("schedules over HTTP: create, list, fire, pause, resume, delete, with events", async () => {
  const svc = await startService();
  const client = await TestClient.connect(svc.wsUrl);
  const api = `${svc.url}/api/schedules`;
  try {
    client.send({ type: "subscribe", ref: "s", filter: { types: ["noop"] } });
    await client.next((m) => m.type === "subscribed");

    const created = await requestJson(api, {
      method: "POST",
      body: { name: "heartbeat", cron: "@every 1s", task: { type: "noop", priority: 7 } },
    });
    assertEquals(created.status, 201);
    const schedule = created.body.schedule as Json;
    assertEquals([schedule.name, schedule.timezone, schedule.overlap, schedule.catchUp], [
      "heartbeat",
      "UTC",
      "allow",
      "latest",
    ]);
    assertEquals((schedule.nextRuns as number[]).length, 5);
    assertEquals((await client.next((m) => m.type === "schedule.created")).name, "heartbeat");

    const fired = await client.next((m) => m.type === "schedule.fired", 15_000);
    assertEquals(fired.name, "heartbeat");
    const task = await requestJson(`${svc.url}/api/tasks/${fired.taskId}`);
    assertEquals((task.body.task as Json).schedule, { name: "heartbeat", tick: fired.tick });
    assertEquals((task.body.task as Json).priority, 7);

    const list = await requestJson(api);
    assertEquals((list.body.schedules as Json[]).map((s) => s.name), ["heartbeat"]);
    const one = await requestJson(`${api}/heartbeat`);
    assertEquals((one.body.schedule as Json).lastTaskId !== null, true);

    const paused = await requestJson(`${api}/heartbeat`, {
      method: "PATCH",
      body: { paused: true },
    });
    assertEquals([(paused.body.schedule as Json).paused, (paused.body.schedule as Json).nextRuns], [
      true,
      [],
    ]);
    await client.next((m) => m.type === "schedule.paused");
    const resumed = await requestJson(`${api}/heartbeat`, {
      method: "PATCH",
      body: { paused: false, cron: "0 * * * *", timezone: "Asia/Tokyo" },
    });
    assertEquals((resumed.body.schedule as Json).cron, "0 * * * *");
    await client.next((m) => m.type === "schedule.updated");
    await client.next((m) => m.type === "schedule.resumed");

    const deleted = await requestJson(`${api}/heartbeat`, { method: "DELETE" });
    assertEquals((deleted.body.schedule as Json).name, "heartbeat");
    await client.next((m) => m.type === "schedule.deleted");
    assertEquals((await requestJson(`${api}/heartbeat`)).status, 404);
  } finally {
    await client.close();
    await svc.close();
  }
});

Deno.test("schedules over HTTP: refusals name the field; 404 names the schedule; 409 on a taken name", async () => {
  const svc = await startService();
  const api = `${svc.url}/api/schedules`;
  try {
    const refused = async (body: unknown, field: string, status = 400) => {
      const answer = await requestJson(api, { method: "POST", body });
      assertEquals(answer.status, status, JSON.stringify(answer.body));
      const error = answer.body.error as Json;
      assertEquals(error.field, field, JSON.stringify(error));
      return error;
    };
    const task = { type: "noop" };
    const cron = await refused({ name: "x", cron: "99 * * * *", task }, "cron");
    assert(String(cron.message).includes("Invalid value for minute: 99"), String(cron.message));
    await refused({ name: "x", cron: "* * * * *", timezone: "Atlantis/City", task }, "timezone");
    const unknown = await refused(
      { name: "x", cron: "* * * * *", task: { type: "nope" } },
      "task.type",
    );
    assertEquals(unknown.code, "unknown_task_type");
    await refused({ name: "x y", cron: "* * * * *", task }, "name");
    await refused({ name: "x", cron: "* * * * *", task, catchUp: "some" }, "catchUp");
    await refused(
      { name: "x", cron: "* * * * *", task: { type: "noop", delayMs: 5 } },
      "task.delayMs",
    );
    await refused({ name: "x", cron: "@every 0s", task }, "cron");

    const body = { name: "dup", cron: "* * * * *", task };
    assertEquals((await requestJson(api, { method: "POST", body })).status, 201);
    const taken = await refused(body, "name", 409);
    assertEquals(taken.code, "schedule_exists");

    const missing = await requestJson(`${api}/ghost`, { method: "PATCH", body: { paused: true } });
    assertEquals(missing.status, 404);
    assertEquals((missing.body.error as Json).code, "schedule_not_found");
    assert(String((missing.body.error as Json).message).includes('"ghost"'));
    const badPatch = await requestJson(`${api}/dup`, { method: "PATCH", body: { cron: "nope" } });
    assertEquals([badPatch.status, (badPatch.body.error as Json).field], [400, "cron"]);
    const notBool = await requestJson(`${api}/dup`, { method: "PATCH", body: { paused: "yes" } });
    assertEquals([notBool.status, (notBool.body.error as Json).field], [400, "paused"]);
  } finally {
    await svc.close();
  }
});
