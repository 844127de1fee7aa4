import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { requestJson, startService } from "./_service.ts";

Deno.test("the original endpoints: POST /submit, GET /tasks, GET /completed_tasks", async () => {
  const svc = await startService();
  try {
    const before = Date.now() / 1000;
    const submitted = await requestJson(`${svc.url}/submit`, {
      method: "POST",
      body: { data: "hello", priority: 3 },
    });
    assertEquals(submitted.status, 200);
    assertEquals(submitted.body.status, "success");
    const id = submitted.body.task_id as string;
    const task = await svc.engine.get(id);
    assertEquals(task?.type, "sleep");
    assertEquals(task?.priority, 3);

    const queued = await requestJson(`${svc.url}/tasks`);
    assertEquals(queued.status, 200);
    assert(typeof queued.body.tasks === "number");

    await svc.engine.wait(id);
    const completed = await requestJson(`${svc.url}/completed_tasks?since=${before - 1}`);
    assertEquals(completed.status, 200);
    const tasks = completed.body.tasks as { id: string; completion_time: number }[];
    assertEquals(tasks.map((t) => t.id), [id]);
    assert(tasks[0].completion_time >= before - 1);
    assert(typeof completed.body.server_time === "number");

    const later = await requestJson(
      `${svc.url}/completed_tasks?since=${completed.body.server_time}`,
    );
    assertEquals(later.body.tasks, []);
  } finally {
    await svc.close();
  }
});

Deno.test("the original endpoints refuse bad input with 400", async () => {
  const svc = await startService();
  try {
    const badPriority = await requestJson(`${svc.url}/submit`, {
      method: "POST",
      body: { data: 1, priority: 77 },
    });
    assertEquals(badPriority.status, 400);
    assertEquals((badPriority.body.error as { field: string }).field, "priority");
    const badJson = await requestJson(`${svc.url}/submit`, { method: "POST", body: "{" });
    assertEquals(badJson.status, 400);
    const badSince = await requestJson(`${svc.url}/completed_tasks?since=yesterday`);
    assertEquals(badSince.status, 400);
    assertEquals((badSince.body.error as { field: string }).field, "since");
  } finally {
    await svc.close();
  }
});

Deno.test("GET /tasks answers JSON to API clients and the dashboard page to browsers", async () => {
  const svc = await startService();
  try {
    const json = await fetch(`${svc.url}/tasks`);
    assert(json.headers.get("content-type")!.startsWith("application/json"));
    assertEquals(await json.json(), { tasks: 0 });
    const html = await fetch(`${svc.url}/tasks`, { headers: { accept: "text/html" } });
    assertEquals(html.status, 200);
    assert(html.headers.get("content-type")!.startsWith("text/html"));
    await html.body?.cancel();
  } finally {
    await svc.close();
  }
});
