import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ThreadFlow } from "../../mod.ts";
import { createApp } from "../../server/app.ts";
import { parseConfig } from "../../server/config.ts";
import { silentLogger } from "../../server/logger.ts";
import {
  type HistoryReading,
  HistoryRecorder,
  percentile,
  readEngineFigures,
  startHistory,
} from "../../server/history.ts";
import type { WorkerInfo } from "../../engine/mod.ts";

const BOUNDS = [1, 2, 4, 8];
/** A start on a ten-second boundary, so steps line up with the readings. */
const T0 = 1_700_000_000_000;

function worker(id: number, state: WorkerInfo["state"], done = 0): WorkerInfo {
  return {
    id,
    nodeId: "n",
    state,
    taskIds: state === "busy" ? ["t"] : [],
    progress: null,
    completed: done,
    failed: 0,
    restarts: 0,
    startedAt: 0,
  };
}

/** A reading at `T0 + second * 1000 + 200`, whose last complete second is `second - 1`. */
function reading(second: number, fields: Partial<HistoryReading> = {}): HistoryReading {
  return {
    at: T0 + second * 1000 + 200,
    finishedPerSecond: new Array(60).fill(0),
    waitMs: { bounds: BOUNDS, counts: [0, 0, 0, 0, 0], sum: 0, count: 0 },
    runMs: { bounds: BOUNDS, counts: [0, 0, 0, 0, 0], sum: 0, count: 0 },
    queuedByPriority: {},
    workers: [],
    ...fields,
  };
}

function histogram(counts: number[]) {
  return { bounds: BOUNDS, counts, sum: 0, count: counts.reduce((a, b) => a + b, 0) };
}

Deno.test("percentiles interpolate within the bucket the rank falls in", () => {
  assertEquals(percentile([0, 10, 0, 0, 0], BOUNDS, 0.5), 1.5);
  assertEquals(percentile([10, 0, 0, 0, 0], BOUNDS, 0.95), 0.95);
  assertEquals(percentile([0, 0, 0, 0, 4], BOUNDS, 0.5), 8);
  assertEquals(percentile([0, 0, 0, 0, 0], BOUNDS, 0.5), null);
});

Deno.test("each second keeps its finished count, its latency and its queue depth", () => {
  const history = new HistoryRecorder({ capacity: 300 });
  history.record(reading(1));
  const finished = new Array(60).fill(0);
  finished[58] = 7; // the second before the reading's own
  history.record(reading(2, {
    finishedPerSecond: finished,
    waitMs: histogram([0, 4, 0, 0, 0]),
    runMs: histogram([0, 0, 0, 10, 0]),
    queuedByPriority: { "10": 3, "1": 5 },
  }));
  const window = history.window(300);
  assertEquals(window.stepMs, 1000);
  assertEquals(window.t.length, 300);
  assertEquals(window.t.at(-1), T0 + 1000);
  assertEquals(window.throughput.at(-1), 7);
  assertEquals(window.waitP50.at(-1), 1.5);
  assertEquals(window.runP95.at(-1), 7.8);
  assertEquals(window.queued["10"].at(-1), 3);
  assertEquals(window.queued["1"].at(-1), 5);
  assertEquals(window.queued["5"].at(-1), 0);
  // The first reading has no earlier one to take a latency delta from.
  assertEquals(window.waitP50.at(-2), null);
  assertEquals(window.throughput.at(-2), 0);
  // The first reading fills in the minute of throughput the engine remembers; depth and
  // latency of seconds never sampled are gaps, not zeros.
  assertEquals(window.throughput.at(-3), 0);
  assertEquals(window.throughput.at(-70), null);
  assertEquals(window.queued["1"].at(-3), null);
});

Deno.test("seconds a late sampler missed take their counts from the per-second buckets", () => {
  const history = new HistoryRecorder();
  history.record(reading(10));
  const finished = new Array(60).fill(0);
  finished[56] = 1;
  finished[57] = 2;
  finished[58] = 3;
  history.record(reading(13, { finishedPerSecond: finished }));
  assertEquals(history.window(300).throughput.slice(-4), [0, 1, 2, 3]);
  assertEquals(history.lastSecond, Math.floor(T0 / 1000) + 12);
});

Deno.test("an hour is served in ten-second steps: mean throughput, merged latency, top depth", () => {
  const history = new HistoryRecorder();
  for (let s = 1; s <= 21; s++) {
    const finished = new Array(60).fill(0);
    finished[58] = s % 2 === 0 ? 0 : 10;
    history.record(reading(s, {
      finishedPerSecond: finished,
      waitMs: histogram([s, 0, 0, 0, 0]),
      queuedByPriority: { "5": s },
    }));
  }
  const window = history.window(3600);
  assertEquals(window.stepMs, 10_000);
  assertEquals(window.t.length, 360);
  assertEquals(window.t.at(-1), T0 + 10_000);
  // The last complete step holds the seconds the readings 11 to 20 closed: half at 10.
  assertEquals(window.throughput.at(-1), 5);
  assertEquals(window.queued["5"].at(-1), 20);
  assert(window.waitP95.at(-1)! <= 1);
  // `since` keeps only the steps after it.
  assertEquals(history.window(3600, { since: T0 }).t, [T0 + 10_000]);
});

Deno.test("the ring keeps `capacity` seconds and forgets the rest", () => {
  const history = new HistoryRecorder({ capacity: 5 });
  for (let s = 1; s <= 20; s++) {
    history.record(reading(s, { queuedByPriority: { "3": s } }));
  }
  const queued = history.window(300).queued["3"];
  assertEquals(queued.slice(-5), [16, 17, 18, 19, 20]);
  assertEquals(queued.at(-6), null);
});

Deno.test("a histogram that shrank (an engine restart) counts whole, never negative", () => {
  const history = new HistoryRecorder();
  history.record(reading(1, { runMs: histogram([0, 0, 50, 0, 0]) }));
  history.record(reading(2, { runMs: histogram([0, 2, 0, 0, 0]) }));
  assertEquals(history.window(300).runP50.at(-1), 1.5);
});

Deno.test("a worker's load is its share of the last minute's samples spent working", () => {
  const history = new HistoryRecorder();
  for (let s = 1; s <= 10; s++) {
    history.record(reading(s, {
      workers: [
        worker(0, s % 2 === 0 ? "busy" : "idle"),
        // Idle at every sample, yet finishing short tasks between them.
        worker(1, "idle", s * 100),
        worker(2, "idle"),
      ],
    }));
  }
  assertEquals(history.workerLoad(), { "0": 0.5, "1": 0.9, "2": 0 });
});

Deno.test("the sampler reads the engine once a second into the history", async () => {
  const tf = await ThreadFlow.start({ workers: 1 });
  try {
    const first = await readEngineFigures(tf);
    assertEquals(first.finishedPerSecond.length, 60);
    assertEquals(first.workers.length, 1);
    const readings: HistoryReading[] = [];
    const sampler = startHistory(tf, {
      intervalMs: 20,
      read: async () => {
        const figures = await readEngineFigures(tf);
        readings.push(figures);
        return figures;
      },
    });
    while (readings.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    sampler.stop();
    assert(sampler.history.lastSecond > 0);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("GET /api/history serves the window asked for, behind the token", async () => {
  const tf = await ThreadFlow.start({ workers: 1 });
  try {
    const parsed = parseConfig(["--token", "s3cret"], {});
    if (parsed.help) throw new Error("unreachable");
    const service = createApp({ engine: tf, config: parsed.config, logger: silentLogger() });
    const auth = { authorization: "Bearer s3cret" };
    const refused = await service.fetch(new Request("http://x/api/history"));
    assertEquals(refused.status, 401);
    await refused.body?.cancel();
    const answer = await service.fetch(
      new Request("http://x/api/history?window=3600", { headers: auth }),
    );
    assertEquals(answer.status, 200);
    const body = await answer.json();
    assertEquals(body.history.seconds, 3600);
    assertEquals(body.history.stepMs, 10_000);
    assertEquals(body.history.t.length, 360);
    assertEquals(Object.keys(body.history.queued).length, 10);
    assertEquals(typeof body.workerLoad, "object");
    const bad = await service.fetch(
      new Request("http://x/api/history?window=7", { headers: auth }),
    );
    assertEquals(bad.status, 400);
    assertEquals((await bad.json()).error.field, "window");
    const doc = await (await service.fetch(
      new Request("http://x/api/openapi.json", { headers: auth }),
    )).json();
    assert("/api/history" in doc.paths, "the OpenAPI document lists /api/history");
    service.drain();
    service.closeWebSockets();
  } finally {
    await tf.close({ drainMs: 0 });
  }
});
