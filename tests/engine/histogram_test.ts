import { Histogram } from "../../engine/facade/histogram.ts";
import { assert, assertEquals } from "./_helpers.ts";

function within(actual: number, expected: number, relative: number): boolean {
  return Math.abs(actual - expected) <= expected * relative;
}

Deno.test("histogram: an empty histogram summarises to zeros", () => {
  const h = new Histogram();
  assertEquals(h.count, 0);
  assertEquals(h.summary(), { count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  assertEquals(h.percentile(0.5), 0);
  const snapshot = h.snapshot();
  assertEquals(snapshot.count, 0);
  assertEquals(snapshot.sum, 0);
  assert(snapshot.counts.every((c) => c === 0));
});

Deno.test("histogram: percentiles of a uniform 1..1000 ms spread are within a bucket (~19%)", () => {
  const h = new Histogram();
  for (let ms = 1; ms <= 1000; ms++) h.record(ms);
  const summary = h.summary();
  assertEquals(summary.count, 1000);
  assertEquals(summary.max, 1000);
  assert(within(summary.p50, 500, 0.19), `p50 ${summary.p50}`);
  assert(within(summary.p95, 950, 0.19), `p95 ${summary.p95}`);
  assert(within(summary.p99, 990, 0.19), `p99 ${summary.p99}`);
  assert(summary.p50 <= summary.p95 && summary.p95 <= summary.p99 && summary.p99 <= summary.max);
});

Deno.test("histogram: a single value is reported exactly as every percentile's ceiling", () => {
  const h = new Histogram();
  h.record(12.5);
  const summary = h.summary();
  assertEquals(summary.max, 12.5);
  assert(summary.p50 <= 12.5 && within(summary.p50, 12.5, 0.19), `p50 ${summary.p50}`);
  assertEquals(summary.p99, 12.5, "percentiles never exceed the max");
});

Deno.test("histogram: percentiles are monotonic in q and never exceed the max", () => {
  const h = new Histogram();
  let x = 1;
  for (let i = 0; i < 5000; i++) {
    x = (x * 48271) % 2147483647;
    h.record((x % 100_000) / 10);
  }
  let previous = 0;
  for (let q = 0; q <= 1; q += 0.01) {
    const p = h.percentile(q);
    assert(p >= previous, `percentile(${q}) = ${p} < ${previous}`);
    previous = p;
  }
  assert(h.percentile(1) <= h.summary().max);
});

Deno.test("histogram: negative and NaN observations are ignored; zero is kept", () => {
  const h = new Histogram();
  h.record(-1);
  h.record(Number.NaN);
  h.record(0);
  assertEquals(h.count, 1);
  assertEquals(h.snapshot().counts[0], 1);
});

Deno.test("histogram: snapshot buckets are not cumulative and sum to the count", () => {
  const h = new Histogram();
  const values = [0, 0.005, 0.01, 0.015, 0.5, 3, 3, 250, 1e7, 1e9];
  for (const v of values) h.record(v);
  const snapshot = h.snapshot();
  assertEquals(snapshot.count, values.length);
  assertEquals(snapshot.counts.length, snapshot.bounds.length + 1, "one extra +Inf bucket");
  assertEquals(snapshot.counts.reduce((a, b) => a + b, 0), values.length);
  assert(Math.abs(snapshot.sum - values.reduce((a, b) => a + b, 0)) < 1e-6);
  for (let i = 1; i < snapshot.bounds.length; i++) {
    assert(snapshot.bounds[i] > snapshot.bounds[i - 1], "bounds ascend");
  }
  assertEquals(snapshot.bounds[0], 0.01);
  // 1e9 ms is past the last bound (~11.9 h): it lands in +Inf.
  assertEquals(snapshot.counts[snapshot.bounds.length], 1);
});

Deno.test("histogram: each observation lands in the bucket whose bounds hold it (> previous, <= own)", () => {
  const probe = new Histogram().snapshot().bounds;
  const check = (value: number) => {
    const h = new Histogram();
    h.record(value);
    const { bounds, counts } = h.snapshot();
    const index = counts.findIndex((c) => c === 1);
    const expected = bounds.findIndex((b) => value <= b);
    assertEquals(index, expected === -1 ? bounds.length : expected, `bucket of ${value}`);
  };
  for (let i = 1; i < probe.length; i++) {
    const mid = (probe[i - 1] + probe[i]) / 2;
    check(mid);
    check(probe[i] * 0.999);
    check(probe[i - 1] * 1.001);
  }
  check(0.01);
  check(probe[probe.length - 1] * 2);
});

Deno.test("histogram: a value exactly on a bound counts in that bound's bucket", () => {
  const h = new Histogram();
  const { bounds } = h.snapshot();
  const misplaced: number[] = [];
  for (let i = 0; i < bounds.length; i++) {
    const one = new Histogram();
    one.record(bounds[i]);
    if (one.snapshot().counts[i] !== 1) misplaced.push(bounds[i]);
  }
  assertEquals(misplaced, [], "bounds whose own value landed in another bucket");
});
