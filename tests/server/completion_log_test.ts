import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { CompletionLog } from "../../server/completion_log.ts";
import type { ThreadFlowEvent } from "../../engine/model/events.ts";

function finished(id: string, finishedAt: number, type = "task.succeeded"): ThreadFlowEvent {
  return { type, seq: 0, at: finishedAt, task: { id, finishedAt } } as unknown as ThreadFlowEvent;
}

Deno.test("CompletionLog answers tasks finished after a time, oldest first", () => {
  const log = new CompletionLog(10);
  log.observe(finished("a", 100));
  log.observe(finished("b", 200, "task.failed"));
  log.observe(finished("x", 250, "task.started"));
  log.observe(finished("c", 300, "task.cancelled"));
  assertEquals(log.since(150).map((c) => c.id), ["b", "c"]);
  assertEquals(log.since(0).map((c) => c.id), ["a", "b", "c"]);
  assertEquals(log.since(300), []);
});

Deno.test("CompletionLog keeps only the newest entries once full", () => {
  const log = new CompletionLog(3);
  for (let i = 1; i <= 7; i++) log.observe(finished(`t${i}`, i * 10));
  assertEquals(log.since(0), [
    { id: "t5", finishedAt: 50 },
    { id: "t6", finishedAt: 60 },
    { id: "t7", finishedAt: 70 },
  ]);
  assertEquals(log.since(55).map((c) => c.id), ["t6", "t7"]);
});
