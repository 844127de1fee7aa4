import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { EventRing } from "../../server/event_ring.ts";
import type { ThreadFlowEvent } from "../../engine/model/events.ts";

function event(seq: number): ThreadFlowEvent {
  return { type: "worker.started", seq, at: 0, worker: {} as never };
}

Deno.test("EventRing replays events after a seq it still holds", () => {
  const ring = new EventRing(5);
  for (let seq = 1; seq <= 3; seq++) ring.push(event(seq));
  const result = ring.since(1);
  assertEquals(result.ok && result.events.map((e) => e.seq), [2, 3]);
  assertEquals(ring.since(3), { ok: true, events: [] });
});

Deno.test("EventRing asks for a resync once the seq has been dropped or is from the future", () => {
  const ring = new EventRing(3);
  for (let seq = 1; seq <= 10; seq++) ring.push(event(seq));
  assertEquals(ring.oldestSeq, 8);
  assertEquals(ring.latestSeq, 10);
  const edge = ring.since(7);
  assertEquals(edge.ok && edge.events.map((e) => e.seq), [8, 9, 10]);
  assertEquals(ring.since(6), { ok: false });
  assertEquals(ring.since(11), { ok: false });
});

Deno.test("EventRing finds the start by search when seqs have gaps", () => {
  const ring = new EventRing(10);
  for (const seq of [2, 4, 6, 8]) ring.push(event(seq));
  const result = ring.since(4);
  assertEquals(result.ok && result.events.map((e) => e.seq), [6, 8]);
});

Deno.test("EventRing forgets events older than its age bound, so a resume from them resyncs", () => {
  const ring = new EventRing(100, 1_000);
  ring.push(event(1), 10_000);
  ring.push(event(2), 10_500);
  ring.push(event(3), 11_200);
  // Event 1 (pushed at 10,000) is older than 1 s at 11,200; event 2 is not.
  assertEquals([ring.size, ring.oldestSeq, ring.latestSeq], [2, 2, 3]);
  const kept = ring.since(1);
  assertEquals(kept.ok && kept.events.map((e) => e.seq), [2, 3]);
  assertEquals(ring.since(0), { ok: false });
  ring.push(event(4), 20_000);
  assertEquals([ring.size, ring.oldestSeq], [1, 4]);
  assertEquals(ring.since(2), { ok: false });
});

Deno.test("EventRing passes over events nobody can ask for: held ones go, the latest seq stays", () => {
  const ring = new EventRing(10);
  for (let seq = 1; seq <= 3; seq++) ring.push(event(seq));
  ring.skip(4);
  ring.skip(5);
  assertEquals([ring.size, ring.latestSeq], [0, 5]);
  assertEquals(ring.since(5), { ok: true, events: [] });
  assertEquals(ring.since(3), { ok: false });
  ring.push(event(6));
  const resumed = ring.since(5);
  assertEquals(resumed.ok && resumed.events.map((e) => e.seq), [6]);
  assertEquals(ring.since(4), { ok: false });
});
