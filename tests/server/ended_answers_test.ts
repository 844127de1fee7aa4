import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { Task, ThreadFlowEvent } from "../../engine/mod.ts";
import {
  ENDED_ANSWER_TTL_MS,
  ENDED_ANSWERS_MAX,
  EndedAnswers,
} from "../../server/ended_answers.ts";

const answer = (json: string) => ({ json, bytes: new TextEncoder().encode(json), etag: "t" });
const task = (id: string, status: Task["status"]) => ({ id, status }) as Task;

Deno.test("ended answers: only ended tasks are kept, each for at most the TTL", () => {
  const answers = new EndedAnswers();
  answers.keep(task("a", "running"), answer("{}"), 0, 0);
  assertEquals(answers.get("a", 0), undefined);
  const kept = answer('{"task":{}}');
  answers.keep(task("b", "failed"), kept, 1_000, 0);
  assertEquals(answers.get("b", 1_000 + ENDED_ANSWER_TTL_MS - 1), kept);
  assertEquals(answers.get("b", 1_000 + ENDED_ANSWER_TTL_MS), undefined);
  assertEquals(answers.size, 0);
});

Deno.test("ended answers: an event about the task drops its answer; others leave it", () => {
  const answers = new EndedAnswers();
  answers.keep(task("a", "succeeded"), answer("{}"), 0, 0);
  answers.keep(task("b", "cancelled"), answer("{}"), 0, 0);
  const event = (id: string) =>
    ({ type: "task.queued", seq: 1, at: 0, task: task(id, "queued") }) as ThreadFlowEvent;
  answers.observe({ type: "worker.started", seq: 2, at: 0 } as unknown as ThreadFlowEvent);
  answers.observe(event("c"));
  assertEquals(answers.size, 2);
  answers.observe(event("a"));
  assertEquals(answers.get("a", 1), undefined);
  assertEquals(answers.get("b", 1) !== undefined, true);
  // An event once every answer is too old drops them all.
  answers.observe({ ...event("c"), at: ENDED_ANSWER_TTL_MS } as ThreadFlowEvent);
  assertEquals(answers.size, 0);
});

Deno.test("ended answers: at most ENDED_ANSWERS_MAX are kept, the oldest goes first", () => {
  const answers = new EndedAnswers();
  for (let i = 0; i <= ENDED_ANSWERS_MAX; i++) {
    answers.keep(task(`t${i}`, "succeeded"), answer("{}"), 0, 0);
  }
  assertEquals(answers.size, ENDED_ANSWERS_MAX);
  assertEquals(answers.get("t0", 1), undefined);
  assertEquals(answers.get(`t${ENDED_ANSWERS_MAX}`, 1) !== undefined, true);
});

Deno.test("ended answers: a read that saw a task event while it waited keeps nothing", () => {
  const answers = new EndedAnswers();
  const before = answers.events;
  answers.observe({ type: "task.queued", seq: 1, at: 0, task: task("a", "queued") });
  answers.keep(task("a", "succeeded"), answer("{}"), 0, before);
  assertEquals(answers.get("a", 1), undefined);
  answers.keep(task("a", "succeeded"), answer("{}"), 0, answers.events);
  assertEquals(answers.get("a", 1) !== undefined, true);
});

Deno.test("ended answers: forgetAll drops every answer, and a read under way keeps nothing", () => {
  const answers = new EndedAnswers();
  answers.keep(task("a", "succeeded"), answer("{}"), 0, 0);
  const before = answers.events;
  answers.forgetAll();
  assertEquals(answers.size, 0);
  // A read that began before the deletion found a task that may be gone now.
  answers.keep(task("b", "succeeded"), answer("{}"), 1, before);
  assertEquals(answers.get("b", 1), undefined);
  answers.keep(task("b", "succeeded"), answer("{}"), 1, answers.events);
  assertEquals(answers.get("b", 1) !== undefined, true);
});
