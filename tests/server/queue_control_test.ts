/**
 * Queue control over HTTP and WebSocket: task types with their controls,
 * pause and resume, limits (and their errors), dependencies on submit.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { requestJson, startService } from "./_service.ts";
import { TestClient } from "./_ws_client.ts";

type Json = Record<string, unknown>;

Deno.test("task types: list with controls, pause and resume, limits set and reset, events", async () => {
  const svc = await startService();
  const client = await TestClient.connect(svc.wsUrl);
  try {
    client.send({ type: "subscribe", ref: "s", filter: { types: ["fib"] } });
    await client.next((m) => m.type === "subscribed");

    const list = await requestJson(`${svc.url}/api/task-types`);
    assertEquals(list.status, 200);
    const fib = (list.body.taskTypes as Json[]).find((t) => t.name === "fib")!;
    assertEquals(
      [fib.builtin, fib.paused, fib.limits, fib.moduleLimits, fib.limitsSet],
      [true, false, {}, {}, false],
    );

    const paused = await requestJson(`${svc.url}/api/task-types/fib/pause`, { method: "POST" });
    assertEquals(paused.status, 200);
    assertEquals((paused.body.taskType as Json).paused, true);
    const event = await client.next((m) => m.type === "type.paused");
    assertEquals((event.control as Json).type, "fib");

    // A paused type's tasks are accepted and wait; other types run.
    const waiting = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: { type: "fib", payload: { n: 5 } },
    });
    assertEquals(waiting.status, 201);
    const other = await requestJson(`${svc.url}/api/tasks`, {
      method: "POST",
      body: { type: "noop" },
    });
    const id = (other.body.task as Json).id;
    const done = await requestJson(`${svc.url}/api/tasks/${id}/wait?timeoutMs=10000`);
    assertEquals((done.body.task as Json).status, "succeeded");
    const fibId = (waiting.body.task as Json).id;
    assertEquals(
      ((await requestJson(`${svc.url}/api/tasks/${fibId}`)).body.task as Json).status,
      "queued",
    );

    const resumed = await requestJson(`${svc.url}/api/task-types/fib/resume`, { method: "POST" });
    assertEquals((resumed.body.taskType as Json).paused, false);
    await client.next((m) => m.type === "type.resumed");
    const fibDone = await requestJson(`${svc.url}/api/tasks/${fibId}/wait?timeoutMs=10000`);
    assertEquals((fibDone.body.task as Json).status, "succeeded");

    const limited = await requestJson(`${svc.url}/api/task-types/fib/limits`, {
      method: "PUT",
      body: { concurrency: 2, ratePerSecond: 100 },
    });
    assertEquals(limited.status, 200);
    assertEquals((limited.body.taskType as Json).limits, { concurrency: 2, ratePerSecond: 100 });
    assertEquals((limited.body.taskType as Json).limitsSet, true);
    const changed = await client.next((m) => m.type === "type.limits_changed");
    assertEquals((changed.control as Json).limits, { concurrency: 2, ratePerSecond: 100 });
    const one = await requestJson(`${svc.url}/api/task-types/fib`);
    assertEquals((one.body.taskType as Json).limits, { concurrency: 2, ratePerSecond: 100 });

    const reset = await requestJson(`${svc.url}/api/task-types/fib/limits`, { method: "DELETE" });
    assertEquals([(reset.body.taskType as Json).limits, (reset.body.taskType as Json).limitsSet], [
      {},
      false,
    ]);
  } finally {
    await client.close();
    await svc.close();
  }
});

Deno.test("task types: unknown names are 404, bad limits 400 naming the field", async () => {
  const svc = await startService();
  try {
    const missing = await requestJson(`${svc.url}/api/task-types/nope/pause`, { method: "POST" });
    assertEquals(missing.status, 404);
    assertEquals((missing.body.error as Json).code, "task_type_not_found");
    assertEquals((missing.body.error as Json).field, "name");
    const cases: [unknown, string][] = [
      [{ concurrency: 0 }, "concurrency"],
      [{ concurrency: 1.5 }, "concurrency"],
      [{ ratePerSecond: -1 }, "ratePerSecond"],
      [{ ratePerSecond: "fast" }, "ratePerSecond"],
      [{ burst: 3 }, "burst"],
      [{ parallel: 2 }, "parallel"],
    ];
    for (const [body, field] of cases) {
      const answer = await requestJson(`${svc.url}/api/task-types/fib/limits`, {
        method: "PUT",
        body,
      });
      assertEquals(answer.status, 400, JSON.stringify(body));
      assertEquals((answer.body.error as Json).field, field, JSON.stringify(answer.body));
    }
    const notJson = await requestJson(`${svc.url}/api/task-types/fib/limits`, {
      method: "PUT",
      body: "{",
    });
    assertEquals(notJson.status, 400);
    const wrongMethod = await requestJson(`${svc.url}/api/task-types/fib/pause`);
    assertEquals(wrongMethod.status, 405);
  } finally {
    await svc.close();
  }
});

Deno.test("submit with dependsOn: a batch graph runs in order; bad references are 400 naming the field", async () => {
  const svc = await startService();
  try {
    const batch = await requestJson(`${svc.url}/api/tasks/batch`, {
      method: "POST",
      body: {
        tasks: [
          { type: "fib", payload: { n: 15 } },
          { type: "fib", payload: { n: 10 }, dependsOn: ["#0"] },
          { type: "noop", dependsOn: ["#0", "#1"], onParentFailure: "run" },
        ],
      },
    });
    assertEquals(batch.status, 201);
    const [a, b, c] = batch.body.tasks as Json[];
    assertEquals([a.status, b.status, c.status], ["queued", "blocked", "blocked"]);
    assertEquals(c.dependsOn, [a.id, b.id]);
    assertEquals(c.onParentFailure, "run");
    const done = await requestJson(`${svc.url}/api/tasks/${c.id}/wait?timeoutMs=10000`);
    assertEquals((done.body.task as Json).status, "succeeded");
    const first = (await requestJson(`${svc.url}/api/tasks/${a.id}`)).body.task as Json;
    const second = (await requestJson(`${svc.url}/api/tasks/${b.id}`)).body.task as Json;
    assert((second.startedAt as number) >= (first.finishedAt as number));
    const blockedList = await requestJson(`${svc.url}/api/tasks?status=blocked`);
    assertEquals(blockedList.status, 200);

    const cases: [Json, string][] = [
      [{ type: "noop", dependsOn: ["0190a000-0000-7000-8000-000000000000"] }, "dependsOn[0]"],
      [{ type: "noop", dependsOn: ["#0"] }, "dependsOn[0]"],
      [{ type: "noop", dependsOn: "x" }, "dependsOn"],
      [{ type: "noop", dependsOn: [a.id, a.id] }, "dependsOn[1]"],
      [{ type: "noop", onParentFailure: "maybe" }, "onParentFailure"],
    ];
    for (const [body, field] of cases) {
      const answer = await requestJson(`${svc.url}/api/tasks`, { method: "POST", body });
      assertEquals(answer.status, 400, JSON.stringify(body));
      assertEquals((answer.body.error as Json).field, field, JSON.stringify(answer.body));
    }
    const forward = await requestJson(`${svc.url}/api/tasks/batch`, {
      method: "POST",
      body: { tasks: [{ type: "noop", dependsOn: ["#1"] }, { type: "noop" }] },
    });
    assertEquals(forward.status, 400);
    assertEquals((forward.body.error as Json).field, "tasks[0].dependsOn[0]");
  } finally {
    await svc.close();
  }
});
