import { assertEquals, seededRandom } from "./_helpers.ts";
import { TaskIndex } from "../../engine/model/task_index.ts";
import { uuidv7 } from "../../engine/model/id.ts";

interface Item {
  id: string;
  n: number;
}

function ids(index: TaskIndex<Item>): string[] {
  return [...index.values()].map((item) => item.id);
}

Deno.test("TaskIndex keeps items in id order whatever order they arrive in", () => {
  const index = new TaskIndex<Item>();
  for (const id of ["c", "a", "e", "b", "d"]) index.add({ id, n: 0 });
  assertEquals(ids(index), ["a", "b", "c", "d", "e"]);
  assertEquals(index.size, 5);
});

Deno.test("TaskIndex finds, replaces and deletes by id, including ids it never held", () => {
  const index = new TaskIndex<Item>();
  index.add({ id: "a", n: 1 });
  index.add({ id: "b", n: 2 });
  assertEquals(index.get("a")?.n, 1);
  assertEquals(index.get("zz"), undefined);
  assertEquals(index.has("0"), false);
  index.add({ id: "a", n: 3 });
  assertEquals(index.get("a")?.n, 3);
  assertEquals(index.size, 2);
  assertEquals(index.delete("a"), true);
  assertEquals(index.delete("a"), false);
  assertEquals(index.get("a"), undefined);
  assertEquals(index.size, 1);
  // An id deleted and added again comes back in its place.
  index.add({ id: "a", n: 4 });
  assertEquals(ids(index), ["a", "b"]);
  assertEquals(index.size, 2);
});

Deno.test("TaskIndex finds ids given as other string objects of the same text", () => {
  const index = new TaskIndex<Item>();
  const made = Array.from({ length: 50 }, () => uuidv7());
  for (const id of made) index.add({ id, n: 0 });
  for (const id of made) assertEquals(index.get(JSON.parse(JSON.stringify(id)))?.id, id);
});

Deno.test("TaskIndex walks down from a cursor and stops when told", () => {
  const index = new TaskIndex<Item>();
  for (const id of ["a", "b", "c", "d", "e"]) index.add({ id, n: 0 });
  index.delete("c");
  const seen: string[] = [];
  index.descending((item) => {
    seen.push(item.id);
    return seen.length < 2;
  }, "e");
  assertEquals(seen, ["d", "b"]);
  const all: string[] = [];
  index.descending((item) => all.push(item.id) > 0);
  assertEquals(all, ["e", "d", "b", "a"]);
  const belowUnknown: string[] = [];
  index.descending((item) => belowUnknown.push(item.id) > 0, "bb");
  assertEquals(belowUnknown, ["b", "a"]);
});

Deno.test("TaskIndex stays right through compaction, against a Map (seeded random mix)", () => {
  const index = new TaskIndex<Item>();
  const model = new Map<string, Item>();
  const random = seededRandom(42);
  /** Ids held, oldest first. */
  const held: string[] = [];
  const check = () => {
    const id = held[Math.floor(random() * held.length)] ?? "none";
    assertEquals(index.get(id), model.get(id));
  };
  // Rounds of adding many, then ending most of them (oldest first, some at random): the holes
  // they leave pass the compaction threshold several times.
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 12_000; i++) {
      const item = { id: uuidv7(), n: i };
      held.push(item.id);
      index.add(item);
      model.set(item.id, item);
      if (i % 100 === 0) check();
    }
    for (let i = 0; i < 10_000; i++) {
      const at = random() < 0.8
        ? Math.floor(random() * Math.min(held.length, 64))
        : Math.floor(random() * held.length);
      const [id] = held.splice(at, 1);
      assertEquals(index.delete(id), true);
      model.delete(id);
      if (i % 100 === 0) check();
    }
    assertEquals(index.delete("not-an-id"), false);
  }
  assertEquals(index.size, model.size);
  assertEquals(ids(index), [...model.keys()].sort());
});
