import { appendSteps } from "../../islands/_client/history_feed.ts";
import type { HistoryWindow } from "../../components/types.ts";
import { assertEquals } from "./_assert.ts";

function window(t: number[], seconds = 3): HistoryWindow {
  const column = t.map((x) => x / 1000);
  const queued: Record<string, (number | null)[]> = {};
  for (let p = 1; p <= 10; p++) queued[p] = column;
  return {
    seconds,
    stepMs: 1000,
    t,
    throughput: column,
    waitP50: column,
    waitP95: column,
    runP50: column,
    runP95: column,
    queued,
  };
}

Deno.test("new steps join the window's end and the oldest drop off", () => {
  const next = appendSteps(window([1000, 2000, 3000]), window([3000, 4000, 5000]));
  assertEquals(next.t, [3000, 4000, 5000]);
  assertEquals(next.throughput, [3, 4, 5]);
  assertEquals(next.queued["7"], [3, 4, 5]);
});

Deno.test("an answer with nothing new, or of another step, leaves the window as it is", () => {
  const shown = window([1000, 2000, 3000]);
  assertEquals(appendSteps(shown, window([2000, 3000])), shown);
  assertEquals(appendSteps(shown, { ...window([9000]), stepMs: 10_000 }), shown);
});
