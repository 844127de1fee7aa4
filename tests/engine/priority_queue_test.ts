import { PriorityQueue } from "../../engine/source/priority_queue.ts";
import { assert, assertEquals, seededRandom } from "./_helpers.ts";

interface Item {
  id: string;
  priority: number;
}

/** Items by id, so a test can remove the very object it pushed. */
const items = new Map<string, Item>();

function push(queue: PriorityQueue<Item>, id: string, priority: number, at = 0): void {
  const item = { id, priority };
  items.set(id, item);
  queue.push(item, at);
}

function drain(queue: PriorityQueue<Item>, now = 0): string[] {
  const ids: string[] = [];
  for (let item = queue.pop(now); item !== undefined; item = queue.pop(now)) {
    ids.push(item.id);
  }
  return ids;
}

Deno.test("priority queue: pops the highest priority first", () => {
  const queue = new PriorityQueue<Item>();
  push(queue, "p1", 1);
  push(queue, "p10", 10);
  push(queue, "p5", 5);
  push(queue, "p7", 7);
  assertEquals(drain(queue), ["p10", "p7", "p5", "p1"]);
  assertEquals(queue.size, 0);
  assertEquals(queue.pop(0), undefined);
});

Deno.test("priority queue: first in, first out within a priority", () => {
  const queue = new PriorityQueue<Item>();
  for (let i = 0; i < 5; i++) {
    push(queue, `a${i}`, 3);
    push(queue, `b${i}`, 8);
  }
  assertEquals(drain(queue), ["b0", "b1", "b2", "b3", "b4", "a0", "a1", "a2", "a3", "a4"]);
});

Deno.test("priority queue: matches a sorted reference over a random mix of pushes, pops and removes", () => {
  const random = seededRandom(20261125);
  const queue = new PriorityQueue<Item>();
  // Reference: every waiting item with its insertion number; pop takes max priority, then min number.
  const reference: Array<{ id: string; priority: number; n: number }> = [];
  let n = 0;
  for (let step = 0; step < 20_000; step++) {
    const roll = random();
    if (roll < 0.55) {
      const priority = 1 + Math.floor(random() * 10);
      const id = `t${n}`;
      push(queue, id, priority);
      reference.push({ id, priority, n: n++ });
    } else if (roll < 0.85) {
      reference.sort((a, b) => b.priority - a.priority || a.n - b.n);
      const expected = reference.shift();
      assertEquals(queue.pop(0)?.id, expected?.id, `pop at step ${step}`);
    } else if (reference.length > 0) {
      const index = Math.floor(random() * reference.length);
      const [victim] = reference.splice(index, 1);
      queue.remove(items.get(victim.id)!);
    }
    assertEquals(queue.size, reference.length);
  }
  reference.sort((a, b) => b.priority - a.priority || a.n - b.n);
  assertEquals(drain(queue), reference.map((r) => r.id));
});

Deno.test("priority queue: remove takes the item out and keeps the rest in order", () => {
  const queue = new PriorityQueue<Item>();
  push(queue, "a", 5);
  push(queue, "b", 5);
  push(queue, "c", 5);
  push(queue, "d", 9);
  queue.remove(items.get("b")!);
  queue.remove(items.get("d")!);
  assertEquals(queue.size, 2);
  assertEquals(queue.sizeByPriority()["5"], 2);
  assertEquals(queue.sizeByPriority()["9"], 0);
  assertEquals(drain(queue), ["a", "c"]);
});

Deno.test("priority queue: removing the head of a lane lets the next item through", () => {
  const queue = new PriorityQueue<Item>();
  push(queue, "head", 4);
  push(queue, "next", 4, 7);
  queue.remove(items.get("head")!);
  assertEquals(queue.peek(0)?.id, "next");
  assertEquals(queue.oldestByPriority()["4"], 7);
});

Deno.test("priority queue: an item removed, pushed again and removed again never comes out", () => {
  const queue = new PriorityQueue<Item>();
  push(queue, "x", 3);
  const x = items.get("x")!;
  queue.remove(x);
  queue.push(x, 1);
  push(queue, "y", 3);
  queue.remove(x);
  assertEquals(queue.size, 1);
  assertEquals(drain(queue), ["y"]);
  queue.push(x, 2);
  assertEquals(drain(queue), ["x"], "its markers are used up");
});

Deno.test("priority queue: unshift puts an item back at the head of its lane", () => {
  const queue = new PriorityQueue<Item>();
  push(queue, "a", 6);
  push(queue, "b", 6);
  const a = queue.pop(0)!;
  queue.unshift(a, 0);
  assertEquals(drain(queue), ["a", "b"]);
});

Deno.test("priority queue: peek shows what pop returns, without taking it", () => {
  const queue = new PriorityQueue<Item>();
  assertEquals(queue.peek(0), undefined);
  push(queue, "low", 2);
  push(queue, "high", 8);
  assertEquals(queue.peek(0)?.id, "high");
  assertEquals(queue.size, 2);
  assertEquals(queue.pop(0)?.id, "high");
  assertEquals(queue.peek(0)?.id, "low");
});

Deno.test("priority queue: sizes and oldest enqueue time per level", () => {
  const queue = new PriorityQueue<Item>();
  push(queue, "a", 3, 100);
  push(queue, "b", 3, 200);
  push(queue, "c", 10, 300);
  const sizes = queue.sizeByPriority();
  assertEquals(Object.keys(sizes).sort((a, b) => Number(a) - Number(b)), [
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "10",
  ]);
  assertEquals(sizes["3"], 2);
  assertEquals(sizes["10"], 1);
  assertEquals(sizes["1"], 0);
  const oldest = queue.oldestByPriority();
  assertEquals(oldest["3"], 100);
  assertEquals(oldest["10"], 300);
  assertEquals(oldest["7"], null);
});

Deno.test("priority queue: aging off, a long wait does not help a low priority", () => {
  const queue = new PriorityQueue<Item>();
  push(queue, "old-low", 1, 0);
  push(queue, "new-high", 9, 1_000_000);
  assertEquals(queue.pop(1_000_000)?.id, "new-high");
});

Deno.test("priority queue: aging raises a waiting item one level per agingMs", () => {
  const queue = new PriorityQueue<Item>({ agingMs: 100 });
  push(queue, "old-low", 1, 0);
  push(queue, "new-high", 9, 500);
  // At t=500 old-low is at level 1 + 5 = 6: new-high (9) goes first.
  assertEquals(queue.peek(500)?.id, "new-high");
  // At t=800 old-low is at 9, new-high at 9 + 3 (capped at 10): still new-high.
  assertEquals(queue.peek(800)?.id, "new-high");
  // At t=900 both are at 10 and the older one wins.
  assertEquals(queue.peek(900)?.id, "old-low");
  assertEquals(queue.pop(900)?.id, "old-low");
  assertEquals(queue.pop(900)?.id, "new-high");
});

Deno.test("priority queue: aging lets a long-waiting low priority pass a stream of urgent work", () => {
  const queue = new PriorityQueue<Item>({ agingMs: 100 });
  push(queue, "low", 1, 0);
  const order: string[] = [];
  // Every 50 ms one urgent (9) item arrives and one item is popped.
  for (let t = 0; t <= 2000; t += 50) {
    push(queue, `urgent${t}`, 9, t);
    order.push(queue.pop(t)!.id);
  }
  assert(order.includes("low"), "the low priority item must run despite constant urgent work");
  const without = new PriorityQueue<Item>();
  push(without, "low", 1, 0);
  const orderWithout: string[] = [];
  for (let t = 0; t <= 2000; t += 50) {
    push(without, `urgent${t}`, 9, t);
    orderWithout.push(without.pop(t)!.id);
  }
  assert(!orderWithout.includes("low"), "without aging it starves");
});

Deno.test("priority queue: aging caps at 10; an equally aged older item still goes first", () => {
  const queue = new PriorityQueue<Item>({ agingMs: 10 });
  push(queue, "urgent-later", 10, 50);
  push(queue, "aged-earlier", 1, 0);
  // aged-earlier is at level 10 (capped) and older: it goes first.
  assertEquals(queue.pop(10_000)?.id, "aged-earlier");
  assertEquals(queue.pop(10_000)?.id, "urgent-later");
});

Deno.test("priority queue: aging keeps FIFO within a level", () => {
  const queue = new PriorityQueue<Item>({ agingMs: 50 });
  for (let i = 0; i < 5; i++) push(queue, `t${i}`, 4, i);
  assertEquals(drain(queue, 10_000), ["t0", "t1", "t2", "t3", "t4"]);
});

Deno.test({
  name: "priority queue: peek after lazily removed items never returns a removed item",
  // Regression (found by this suite, fixed in 81994bf): Lane.peek read from the array it had
  // captured before #compact() replaced it, so after skipping over 1024 removed entries it returned
  // a removed item (or undefined after shifts).
  fn() {
    const queue = new PriorityQueue<Item>();
    for (let i = 0; i < 3000; i++) push(queue, `t${i}`, 5);
    for (let i = 0; i < 2000; i++) queue.remove(items.get(`t${i}`)!);
    // Before the fix: pop returned the removed t0 and lost t2000.
    assertEquals(queue.pop(0)?.id, "t2000");
    assertEquals(queue.size, 999);
    assertEquals(queue.pop(0)?.id, "t2001");

    const peeked = new PriorityQueue<Item>();
    for (let i = 0; i < 3000; i++) push(peeked, `t${i}`, 5);
    for (let i = 0; i < 2000; i++) peeked.remove(items.get(`t${i}`)!);
    // Before the fix: peek returned the removed t0.
    assertEquals(peeked.peek(0)?.id, "t2000");
  },
});

Deno.test({
  name: "priority queue: 100,000 items through one lane with removals (compaction)",
  // Regression (fixed in 81994bf): the same compaction bug made pop throw a TypeError here.
  fn() {
    const queue = new PriorityQueue<Item>();
    for (let i = 0; i < 100_000; i++) push(queue, `t${i}`, 5);
    for (let i = 0; i < 100_000; i += 3) queue.remove(items.get(`t${i}`)!);
    const expected: string[] = [];
    for (let i = 0; i < 100_000; i++) if (i % 3 !== 0) expected.push(`t${i}`);
    assertEquals(queue.size, expected.length);
    // Pop half, push more, and check the order holds across compactions.
    const popped: string[] = [];
    for (let i = 0; i < 30_000; i++) popped.push(queue.pop(0)!.id);
    for (let i = 100_000; i < 100_010; i++) push(queue, `t${i}`, 5);
    const rest = drain(queue);
    const all = [...popped, ...rest];
    for (let i = 100_000; i < 100_010; i++) expected.push(`t${i}`);
    assertEquals(all.length, expected.length);
    assert(all.every((id, i) => id === expected[i]), "order must be FIFO throughout");
    assertEquals(queue.size, 0);
    assertEquals(queue.sizeByPriority()["5"], 0);
  },
});
