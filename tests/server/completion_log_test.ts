import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { CompletionLog } from "../../server/completion_log.ts";
import type { ThreadFlowEvent } from "../../engine/mod.ts";

function finished(id: string, finishedAt: number, type = "task.succeeded"): ThreadFlowEvent {
  return { type, seq: 0, at: finishedAt, task: { id, finishedAt } } as unknown as ThreadFlowEvent;
}

Deno.test("CompletionLog answers finished tasks newest first, by whole finishing second", () => {
  const log = new CompletionLog(10);
  log.observe(finished("a", 100_400));
  log.observe(finished("b", 200_100, "task.failed"));
  log.observe(finished("x", 250_000, "task.started"));
  log.observe(finished("c", 200_900, "task.cancelled"));
  log.observe(finished("d", 300_000));
  assertEquals(log.newest().map((c) => c.id), ["d", "c", "b", "a"]);
  // Second 200 is not after 200, as the original compared `completion_time <= since`.
  assertEquals(log.newest({ afterSecond: 200 }).map((c) => c.id), ["d"]);
  assertEquals(log.newest({ afterSecond: 199 }).map((c) => c.id), ["d", "c", "b"]);
  assertEquals(log.newest({ afterSecond: 300 }), []);
  assertEquals(log.newest({ limit: 2 }).map((c) => c.id), ["d", "c"]);
});

Deno.test("CompletionLog answers the tasks finished after a given task; an unknown id means all", () => {
  const log = new CompletionLog(10);
  for (let i = 1; i <= 5; i++) log.observe(finished(`t${i}`, i * 1000));
  assertEquals(log.newest({ afterId: "t3" }).map((c) => c.id), ["t5", "t4"]);
  assertEquals(log.newest({ afterId: "t5" }), []);
  assertEquals(log.newest({ afterId: "nope" }).map((c) => c.id), ["t5", "t4", "t3", "t2", "t1"]);
  // The id lies beyond the limit: the newest `limit` are the answer either way.
  assertEquals(log.newest({ afterId: "t1", limit: 2 }).map((c) => c.id), ["t5", "t4"]);
});

Deno.test("CompletionLog keeps only the newest entries once full", () => {
  const log = new CompletionLog(3);
  for (let i = 1; i <= 7; i++) log.observe(finished(`t${i}`, i * 10_000));
  assertEquals(log.newest(), [
    { id: "t7", finishedAt: 70_000 },
    { id: "t6", finishedAt: 60_000 },
    { id: "t5", finishedAt: 50_000 },
  ]);
  assertEquals(log.newest({ afterSecond: 55 }).map((c) => c.id), ["t7", "t6"]);
  assertEquals(log.newest({ afterId: "t2" }).map((c) => c.id), ["t7", "t6", "t5"]);
});
