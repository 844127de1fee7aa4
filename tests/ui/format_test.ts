import {
  firstLine,
  formatAge,
  formatBytes,
  formatClock,
  formatCount,
  formatDuration,
  formatProgress,
  formatTime,
  hexPreview,
  previewJson,
} from "../../components/format.ts";
import {
  linePath,
  nearestIndex,
  niceCeiling,
  spanLabel,
  timeTicks,
} from "../../components/LineChart.tsx";
import { jsonBytes } from "../../components/ValueView.tsx";
import { assertEquals } from "./_assert.ts";

Deno.test("durations, sizes, counts and times read well and render the same everywhere", () => {
  assertEquals(
    [0, 0.25, 850, 3200, 12_500, 245_000, 7_380_000, null].map(formatDuration),
    ["0 ms", "0.25 ms", "850 ms", "3.20 s", "12.5 s", "4 min 05 s", "2 h 03 min", "–"],
  );
  assertEquals([512, 1536, 3 * 1024 * 1024].map(formatBytes), ["512 B", "1.5 KiB", "3.0 MiB"]);
  assertEquals(formatCount(1234567), "1\u202f234\u202f567");
  assertEquals(formatCount(12), "12");
  assertEquals(formatTime(0), "1970-01-01 00:00:00.000Z");
  assertEquals(formatProgress(0.424), "42%");
  assertEquals(formatProgress(null), "–");
});

Deno.test("bytes preview as hex and JSON previews are cut", () => {
  assertEquals(hexPreview(new Uint8Array([0, 255, 16])), "00 ff 10");
  assertEquals(hexPreview(new Uint8Array(3), 2), "00 00 …");
  assertEquals(previewJson({ n: 1 }), '{\n  "n": 1\n}');
  assertEquals(previewJson("x".repeat(30), 10).startsWith('"xxxxxxxxx\n… ('), true);
  assertEquals(jsonBytes({ $bytes: "3q2+7w==" }), new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
  assertEquals(jsonBytes({ $bytes: "AA==", other: 1 }), undefined);
});

Deno.test("chart paths break at missing values and scales round up nicely", () => {
  const d = linePath([0, 1, 2, 3], [1, null, 2, 3], (t) => t * 10, (v) => v);
  assertEquals(d, "M0.0 1.0M20.0 2.0L30.0 3.0");
  assertEquals([0, 0.5, 1.2, 3, 7, 10, 11, 420].map(niceCeiling), [1, 1, 2, 5, 10, 10, 20, 500]);
  assertEquals([10_000, 59_000, 60_000, 119_000, 300_000, 3_600_000].map(spanLabel), [
    "10 s",
    "59 s",
    "1 min",
    "119 s",
    "5 min",
    "1 h",
  ]);
  assertEquals(timeTicks(300_000).map((t) => t.label), [
    "−5 min",
    "−4 min",
    "−3 min",
    "−2 min",
    "−1 min",
    "now",
  ]);
  assertEquals(timeTicks(3_600_000).map((t) => t.label), [
    "−1 h",
    "−45 min",
    "−30 min",
    "−15 min",
    "now",
  ]);
  assertEquals(nearestIndex([0, 1000, 2000], 1400), 1);
  assertEquals(nearestIndex([], 1400), null);
});

Deno.test("clock times, ages and first lines read well", () => {
  assertEquals(formatClock(Date.UTC(2026, 0, 1, 14, 3, 7)), "14:03:07 UTC");
  assertEquals(formatClock(null), "–");
  assertEquals([0, 4_900, 125_000, 11_220_000, 90_000_000].map(formatAge), [
    "0 s",
    "4 s",
    "2 min 05 s",
    "3 h 07 min",
    "1 d 01 h",
  ]);
  assertEquals(firstLine("TypeError: boom\n    at x (y.ts:1:1)"), "TypeError: boom");
  assertEquals(firstLine("x".repeat(300), 10), "xxxxxxxxx…");
});
