import { backoffDelay, isStale } from "../../islands/_client/live.ts";
import { applyWorkerUpdates } from "../../islands/_client/worker_updates.ts";
import type { Task, TaskEvent, WorkerInfo } from "../../components/types.ts";
import { assert, assertEquals } from "./_assert.ts";

function worker(id: number, patch: Partial<WorkerInfo> = {}): WorkerInfo {
  return {
    id,
    nodeId: "n",
    state: "idle",
    taskIds: [],
    progress: null,
    completed: 0,
    failed: 0,
    restarts: 0,
    startedAt: 0,
    ...patch,
  };
}

function event(type: TaskEvent["type"], patch: Partial<Task>): TaskEvent {
  const task = {
    id: "t1",
    type: "sleep",
    payload: null,
    priority: 5,
    status: "running",
    attempts: 1,
    maxAttempts: 1,
    timeoutMs: 1000,
    progress: null,
    result: null,
    error: null,
    createdAt: 0,
    runAt: 0,
    startedAt: 0,
    finishedAt: null,
    workerId: 0,
    idempotencyKey: null,
    nodeId: null,
    ...patch,
  } as Task;
  return { type, seq: 1, at: 0, task };
}

Deno.test("reconnect delays double from 500 ms to at most 10 s, with jitter below", () => {
  const top = () => 1;
  assertEquals([0, 1, 2, 3, 4, 5, 6, 20].map((n) => backoffDelay(n, top)), [
    500,
    1000,
    2000,
    4000,
    8000,
    10_000,
    10_000,
    10_000,
  ]);
  assertEquals(backoffDelay(0, () => 0), 400);
});

Deno.test("task events move a worker between busy and idle and carry progress", () => {
  const start = [worker(0), worker(1)];
  const busy = applyWorkerUpdates(start, [], [event("task.started", {})]);
  assertEquals(busy[0].state, "busy");
  assertEquals(busy[0].taskIds, ["t1"]);
  assertEquals(busy[1], start[1]);
  const moving = applyWorkerUpdates(busy, [], [event("task.progress", { progress: 0.5 })]);
  assertEquals(moving[0].progress, 0.5);
  const done = applyWorkerUpdates(moving, [], [event("task.succeeded", { status: "succeeded" })]);
  assertEquals(done[0], { ...start[0], completed: 1 });
  const failed = applyWorkerUpdates(busy, [], [event("task.failed", { status: "failed" })]);
  assertEquals(failed[0].failed, 1);
});

Deno.test("worker events replace the slot; nothing to apply keeps the same array", () => {
  const start = [worker(0), worker(1)];
  assert(applyWorkerUpdates(start, [], []) === start);
  assert(applyWorkerUpdates(start, [], [event("task.queued", { workerId: null })]) === start);
  const restarted = applyWorkerUpdates(start, [worker(1, { restarts: 1, state: "starting" })], []);
  assertEquals(restarted[1].restarts, 1);
  assertEquals(restarted.map((w) => w.id), [0, 1]);
});

Deno.test("figures are stale once the page is not live and they are two seconds old", () => {
  assertEquals(isStale("live", 0, 60_000), false);
  assertEquals(isStale("connecting", 0, 1_000), false);
  assertEquals(isStale("reconnecting", 0, 2_000), true);
  assertEquals(isStale("unauthorized", 0, 9_000), true);
  assertEquals(isStale("reconnecting", null, 9_000), false);
});

Deno.test("an event batch keeps the latest event per task, worker events in order, the top seq", async () => {
  const { EventBatch } = await import("../../islands/_client/socket_link.ts");
  const batch = new EventBatch();
  const a1 = { ...event("task.queued", { id: "a" }), seq: 1 };
  const b1 = { ...event("task.queued", { id: "b" }), seq: 2 };
  const a2 = { ...event("task.started", { id: "a" }), seq: 3 };
  for (const e of [a1, b1, a2]) assert(batch.add(e as unknown as Record<string, unknown>));
  assert(batch.add({ type: "worker.started", seq: 4, at: 0, worker: worker(0) }));
  assert(!batch.add({ type: "stats", stats: {} }));
  assertEquals(batch.size, 3);
  const taken = batch.take();
  assertEquals(taken.tasks.map((e) => [e.task.id, e.type]), [["b", "task.queued"], [
    "a",
    "task.started",
  ]]);
  assertEquals(taken.workers.length, 1);
  assertEquals(taken.seq, 4);
  assertEquals(batch.size, 0);
});

Deno.test("a frame is read into the batch: a batch frame's messages in order, others at once after the events before them", async () => {
  const { EventBatch, readFrame } = await import("../../islands/_client/socket_link.ts");
  const batch = new EventBatch();
  const seen: string[] = [];
  const flush = () => {
    if (batch.size > 0) seen.push(`events ${batch.take().tasks.map((e) => e.task.id)}`);
  };
  const other = (data: Record<string, unknown>) => seen.push(String(data.type));
  const queued = { ...event("task.queued", { id: "a" }), seq: 1 };
  const stats = { type: "stats", stats: {} };
  const started = { ...event("task.started", { id: "b" }), seq: 2 };
  const frame = JSON.stringify({ type: "batch", messages: [queued, stats, started] });
  assertEquals(readFrame(frame, batch, flush, other), true);
  assertEquals(seen, ["events a", "stats"]);
  assertEquals(batch.size, 1);
  // A plain frame is one message; one that is not JSON is dropped.
  assertEquals(readFrame('{"type":"hello"}', batch, flush, other), false);
  assertEquals(seen, ["events a", "stats", "events b", "hello"]);
  assertEquals(readFrame("not json", batch, flush, other), false);
  assertEquals(readFrame("null", batch, flush, other), false);
  assertEquals(
    readFrame('{"type":"batch","messages":[null,7,{"type":"pong"}]}', batch, flush, other),
    false,
  );
  assertEquals(seen.at(-1), "pong");
  assertEquals(readFrame('{"type":"batch"}', batch, flush, other), false);
  assertEquals(seen.at(-1), "batch");
});
