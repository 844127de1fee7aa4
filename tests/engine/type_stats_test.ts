/**
 * The per-type figures: an hour in five-minute slots, attempts that ended
 * earlier drop out, memory stays twelve slots whatever the load.
 */

import { TypeStatsRecorder } from "../../engine/facade/type_stats.ts";
import { assertEquals } from "./_helpers.ts";

const MINUTE = 60_000;

Deno.test("type stats: the last hour counts, older attempts drop out, types stay apart", () => {
  const recorder = new TypeStatsRecorder();
  const start = 1_700_000_000_000 - (1_700_000_000_000 % (5 * MINUTE));
  recorder.record("fib", true, 10, null, "a", start);
  recorder.record("fib", false, 20, { name: "TypeError", message: "bad" }, "b", start + MINUTE);
  recorder.record("noop", true, 1, null, "c", start + 2 * MINUTE);
  assertEquals(recorder.read("fib", start + 2 * MINUTE).lastHour, {
    succeeded: 1,
    failed: 1,
    failureRate: 0.5,
  });
  assertEquals(recorder.read("fib", start + 2 * MINUTE).runMs.count, 2);
  assertEquals(recorder.read("noop", start + 2 * MINUTE).lastHour.succeeded, 1);
  assertEquals(recorder.read("fib", start).lastError, {
    at: start + MINUTE,
    taskId: "b",
    name: "TypeError",
    message: "bad",
  });
  // 61 minutes on, the first slot has left the window; the last error stays.
  recorder.record("fib", true, 30, null, "d", start + 61 * MINUTE);
  const later = recorder.read("fib", start + 61 * MINUTE);
  assertEquals(later.lastHour, { succeeded: 1, failed: 0, failureRate: 0 });
  assertEquals(later.lastError?.taskId, "b");
  // Two hours of records reuse the twelve slots.
  for (let m = 0; m < 120; m++) {
    recorder.record("fib", true, 5, null, "e", start + 70 * MINUTE + m * MINUTE);
  }
  const read = recorder.read("fib", start + 189 * MINUTE);
  assertEquals(read.lastHour.succeeded, 60);
  assertEquals(recorder.read("unknown", start).lastHour.failureRate, null);
});
