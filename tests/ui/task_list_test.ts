import { applyTaskEvents, matchesFilter, taskQuery } from "../../islands/_client/task_list.ts";
import type { Task, TaskEvent } from "../../components/types.ts";
import { assert, assertEquals } from "./_assert.ts";

function task(id: string, patch: Partial<Task> = {}): Task {
  return {
    id,
    type: "noop",
    payload: null,
    priority: 5,
    status: "queued",
    attempts: 0,
    maxAttempts: 1,
    timeoutMs: 1000,
    progress: null,
    result: null,
    error: null,
    createdAt: 0,
    runAt: 0,
    startedAt: null,
    finishedAt: null,
    workerId: null,
    idempotencyKey: null,
    nodeId: null,
    ...patch,
  };
}
const ev = (t: Task, type: TaskEvent["type"] = "task.queued"): TaskEvent => ({
  type,
  seq: 1,
  at: 0,
  task: t,
});
const all = { accepts: () => true, prepend: true, limit: 3 };

Deno.test("rows shown take the newest snapshot", () => {
  const rows = [task("b"), task("a")];
  const next = applyTaskEvents(rows, [ev(task("a", { status: "running" }), "task.started")], all);
  assertEquals(next.map((t) => t.status), ["queued", "running"]);
  assertEquals(rows[1].status, "queued", "the old array is not changed");
});

Deno.test("on the first page new tasks join newest first, capped at the limit", () => {
  const rows = [task("c"), task("b")];
  const next = applyTaskEvents(rows, [ev(task("e")), ev(task("d"))], all);
  assertEquals(next.map((t) => t.id), ["e", "d", "c"]);
  const older = applyTaskEvents(next, [ev(task("a"))], all);
  assert(older === next, "a task older than a full page is not shown");
});

Deno.test("later pages only update their rows", () => {
  const rows = [task("b")];
  const next = applyTaskEvents(rows, [ev(task("z"))], { ...all, prepend: false });
  assert(next === rows);
});

Deno.test("with a filter, rows leave when they stop matching and join when they start", () => {
  const running = { accepts: (t: Task) => t.status === "running", prepend: true, limit: 10 };
  const rows = [task("b", { status: "running" })];
  const next = applyTaskEvents(rows, [
    ev(task("b", { status: "succeeded" }), "task.succeeded"),
    ev(task("c", { status: "running" }), "task.started"),
  ], running);
  assertEquals(next.map((t) => t.id), ["c"]);
});

Deno.test("matchesFilter and taskQuery read the same filter", () => {
  const t = task("a", { status: "failed", type: "fib", priority: 9 });
  assert(matchesFilter(t, {}));
  assert(matchesFilter(t, { status: "failed", type: "fib", priority: "9" }));
  assert(!matchesFilter(t, { priority: "8" }));
  assertEquals(
    taskQuery({ status: "failed", priority: "9" }, 50, "abc"),
    "status=failed&priority=9&limit=50&cursor=abc",
  );
  assertEquals(taskQuery({}, 10), "limit=10");
});
