import {
  canTransition,
  IllegalTransitionError,
  Lifecycle,
  type LifecycleHooks,
} from "../../engine/model/lifecycle.ts";
import type { TaskEvent, ThreadFlowEvent, WorkerEvent } from "../../engine/model/events.ts";
import { type Task, TASK_STATUSES, type TaskStatus } from "../../engine/model/task.ts";
import { assert, assertEquals, assertThrows } from "./_helpers.ts";
import { makeTask as makeStoredTask } from "../store/conformance.ts";

function makeTask(status: TaskStatus, id = crypto.randomUUID()): Task {
  return makeStoredTask({ id, status, payload: null, timeoutMs: 1000 });
}

interface Harness {
  lifecycle: Lifecycle;
  events: ThreadFlowEvent[];
  changed: Task[];
  ended: Task[];
}

function harness(): Harness {
  const changed: Task[] = [];
  const ended: Task[] = [];
  const hooks: LifecycleHooks = {
    changed: (task) => changed.push(task),
    ended: (task) => ended.push(task),
  };
  const lifecycle = new Lifecycle(hooks);
  const events: ThreadFlowEvent[] = [];
  lifecycle.listen((event) => events.push(event));
  return { lifecycle, events, changed, ended };
}

/** Every legal move, with the one event it must emit. */
const LEGAL: Array<[TaskStatus, TaskStatus, string]> = [
  ["blocked", "scheduled", "task.scheduled"],
  ["blocked", "queued", "task.queued"],
  ["blocked", "cancelled", "task.cancelled"],
  ["scheduled", "queued", "task.queued"],
  ["scheduled", "cancelled", "task.cancelled"],
  ["queued", "running", "task.started"],
  ["queued", "cancelled", "task.cancelled"],
  ["running", "succeeded", "task.succeeded"],
  ["running", "failed", "task.failed"],
  ["running", "cancelled", "task.cancelled"],
  ["running", "queued", "task.retrying"],
  ["running", "scheduled", "task.retrying"],
  ["failed", "queued", "task.retrying"],
  ["failed", "scheduled", "task.retrying"],
  ["cancelled", "queued", "task.retrying"],
  ["cancelled", "scheduled", "task.retrying"],
];

Deno.test("lifecycle: every legal transition emits exactly one event of the right type", () => {
  for (const [from, to, type] of LEGAL) {
    const { lifecycle, events, changed } = harness();
    const task = makeTask(from);
    lifecycle.counts[from] = 1;
    lifecycle.move(task, to);
    assertEquals(task.status, to, `${from} -> ${to}`);
    assertEquals(events.length, 1, `${from} -> ${to} emits one event`);
    const event = events[0] as TaskEvent;
    assertEquals(event.type, type, `${from} -> ${to}`);
    assertEquals(event.task.status, to);
    assertEquals(event.task.id, task.id);
    assertEquals(changed.length, 1, "the store hears of the change once");
    assertEquals(lifecycle.counts[from], 0);
    assertEquals(lifecycle.counts[to], 1);
  }
});

Deno.test("lifecycle: every other transition is refused, without event, patch or count change", () => {
  const legal = new Set(LEGAL.map(([from, to]) => `${from}->${to}`));
  let refused = 0;
  for (const from of TASK_STATUSES) {
    for (const to of TASK_STATUSES) {
      if (legal.has(`${from}->${to}`)) {
        assert(canTransition(from, to), `${from} -> ${to} is legal`);
        continue;
      }
      assert(!canTransition(from, to), `${from} -> ${to} is illegal`);
      const { lifecycle, events, changed, ended } = harness();
      const task = makeTask(from);
      lifecycle.counts[from] = 1;
      const error = assertThrows(
        () => lifecycle.move(task, to, { attempts: 99 }),
        IllegalTransitionError,
      );
      assert(error.message.includes(from) && error.message.includes(to), error.message);
      assertEquals(task.status, from);
      assertEquals(task.attempts, 0, "the patch is not applied");
      assertEquals(events.length, 0);
      assertEquals(changed.length + ended.length, 0);
      assertEquals(lifecycle.counts[from], 1);
      refused++;
    }
  }
  assertEquals(refused, TASK_STATUSES.length ** 2 - LEGAL.length);
});

Deno.test("lifecycle: a succeeded task can go nowhere", () => {
  for (const to of TASK_STATUSES) assert(!canTransition("succeeded", to));
});

Deno.test("lifecycle: create accepts only scheduled or queued and emits one event", () => {
  const { lifecycle, events } = harness();
  lifecycle.create(makeTask("queued"));
  lifecycle.create(makeTask("scheduled"));
  assertEquals(events.map((e) => e.type), ["task.queued", "task.scheduled"]);
  assertEquals(lifecycle.counts.queued, 1);
  assertEquals(lifecycle.counts.scheduled, 1);
  for (const status of ["running", "succeeded", "failed", "cancelled"] as const) {
    assertThrows(() => lifecycle.create(makeTask(status)), IllegalTransitionError);
  }
  assertEquals(events.length, 2);
});

Deno.test("lifecycle: a full life, counts and hooks", () => {
  const { lifecycle, events, changed, ended } = harness();
  const task = makeTask("scheduled");
  lifecycle.create(task);
  lifecycle.move(task, "queued");
  lifecycle.move(task, "running", { attempts: 1, startedAt: 123 });
  assertEquals(task.attempts, 1, "the patch is applied");
  assertEquals(task.startedAt, 123);
  lifecycle.move(task, "scheduled", { error: { name: "Error", message: "retry" } });
  lifecycle.move(task, "queued");
  lifecycle.move(task, "running", { attempts: 2 });
  lifecycle.move(task, "succeeded", { result: 42, finishedAt: 456 });
  assertEquals(events.map((e) => e.type), [
    "task.scheduled",
    "task.queued",
    "task.started",
    "task.retrying",
    "task.queued",
    "task.started",
    "task.succeeded",
  ]);
  assertEquals(lifecycle.counts, {
    blocked: 0,
    scheduled: 0,
    queued: 0,
    running: 0,
    succeeded: 1,
    failed: 0,
    cancelled: 0,
  });
  assertEquals(changed.length, 6, "every move, not create, reaches the store hook");
  assertEquals(ended, [task], "ended once, at the terminal move");
});

Deno.test("lifecycle: seq grows by one per event, worker events included", () => {
  const { lifecycle, events } = harness();
  const task = makeTask("queued");
  lifecycle.create(task);
  const workerEvent: Omit<WorkerEvent, "seq"> = {
    type: "worker.started",
    at: Date.now(),
    worker: {
      id: 0,
      nodeId: "n",
      state: "idle",
      taskIds: [],
      progress: null,
      completed: 0,
      failed: 0,
      restarts: 0,
      startedAt: 0,
    },
  };
  lifecycle.emit(workerEvent);
  lifecycle.move(task, "running");
  lifecycle.progress(task);
  lifecycle.move(task, "succeeded");
  assertEquals(events.map((e) => e.seq), [1, 2, 3, 4, 5]);
  assertEquals(lifecycle.seq, 5);
  assertEquals(events[3].type, "task.progress");
});

Deno.test("lifecycle: seq advances even when nobody listens", () => {
  const lifecycle = new Lifecycle({ changed() {}, ended() {} });
  assert(!lifecycle.hasListeners);
  const task = makeTask("queued");
  lifecycle.create(task);
  lifecycle.move(task, "running");
  assertEquals(lifecycle.seq, 2);
  const events: ThreadFlowEvent[] = [];
  lifecycle.listen((e) => events.push(e));
  lifecycle.move(task, "succeeded");
  assertEquals(events[0].seq, 3);
});

Deno.test("lifecycle: an event carries a snapshot that later moves do not change", () => {
  const { lifecycle, events } = harness();
  const task = makeTask("queued");
  lifecycle.move(task, "running", { attempts: 1 });
  lifecycle.move(task, "succeeded", { result: "done" });
  const started = events[0] as TaskEvent;
  assertEquals(started.task.status, "running");
  assertEquals(started.task.result, null);
  assert(started.task !== task);
});

Deno.test("lifecycle: a throwing listener neither breaks the move nor the other listeners", () => {
  const { lifecycle, events } = harness();
  const originalError = console.error;
  const logged: unknown[] = [];
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    lifecycle.listen(() => {
      throw new Error("listener bug");
    });
    const later: ThreadFlowEvent[] = [];
    lifecycle.listen((e) => later.push(e));
    const task = makeTask("queued");
    lifecycle.move(task, "running");
    assertEquals(task.status, "running");
    assertEquals(events.length, 1);
    assertEquals(later.length, 1);
    assertEquals(logged.length, 1);
  } finally {
    console.error = originalError;
  }
});

Deno.test("lifecycle: unsubscribing stops delivery", () => {
  const lifecycle = new Lifecycle({ changed() {}, ended() {} });
  const events: ThreadFlowEvent[] = [];
  const stop = lifecycle.listen((e) => events.push(e));
  const task = makeTask("queued");
  lifecycle.move(task, "running");
  stop();
  lifecycle.move(task, "succeeded");
  assertEquals(events.length, 1);
  assert(!lifecycle.hasListeners);
});

Deno.test("lifecycle: initial counts and forget", () => {
  const lifecycle = new Lifecycle({ changed() {}, ended() {} }, {
    blocked: 0,
    scheduled: 1,
    queued: 2,
    running: 0,
    succeeded: 10,
    failed: 3,
    cancelled: 0,
  });
  assertEquals(lifecycle.counts.queued, 2);
  lifecycle.forget("succeeded", 4);
  assertEquals(lifecycle.counts.succeeded, 6);
  lifecycle.forget("failed", 10);
  assertEquals(lifecycle.counts.failed, 0, "never below zero");
});
