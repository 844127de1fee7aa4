import { StatsRecorder, workerTotals } from "../../engine/facade/stats.ts";
import type { WorkerInfo } from "../../engine/model/events.ts";
import { assertEquals } from "./_helpers.ts";

Deno.test("stats: throughput counts finished tasks per second over the last 60 s", () => {
  const start = Date.now();
  const second = Math.floor(start / 1000) * 1000;
  const stats = new StatsRecorder();
  stats.recordFinished(second);
  stats.recordFinished(second + 10);
  stats.recordFinished(second + 1000);
  const now = stats.throughput(second + 1500);
  assertEquals(now.perSecond.length, 60);
  assertEquals(now.perSecond.slice(-2), [2, 1], "oldest first: the last bucket is this second");
  assertEquals(now.last60s, Math.round((3 / 60) * 100) / 100);
  const later = stats.throughput(second + 59_500);
  assertEquals(later.perSecond.reduce((a, b) => a + b, 0), 3, "still within 60 s");
  const gone = stats.throughput(second + 61_000);
  assertEquals(gone.perSecond.reduce((a, b) => a + b, 0), 0, "older than 60 s");
  assertEquals(gone.last60s, 0);
});

Deno.test("stats: wait times are recorded overall and per priority", () => {
  const stats = new StatsRecorder();
  stats.recordWait(10, 5);
  stats.recordWait(10, 7);
  stats.recordWait(1, 1000);
  assertEquals(stats.wait.count, 3);
  const byPriority = stats.waitSummaries();
  assertEquals(byPriority["10"].count, 2);
  assertEquals(byPriority["1"].count, 1);
  assertEquals(byPriority["1"].max, 1000);
  assertEquals(byPriority["5"].count, 0);
  assertEquals(Object.keys(byPriority).length, 10);
});

Deno.test("stats: worker totals", () => {
  const worker = (state: WorkerInfo["state"], restarts: number): WorkerInfo => ({
    id: 0,
    nodeId: "n",
    state,
    taskIds: [],
    progress: null,
    completed: 0,
    failed: 0,
    restarts,
    startedAt: 0,
  });
  assertEquals(
    workerTotals([worker("busy", 1), worker("idle", 0), worker("starting", 2), worker("idle", 0)]),
    { total: 4, busy: 1, idle: 2, restarts: 3 },
  );
});
