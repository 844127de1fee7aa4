import FakeTimers from "@sinonjs/fake-timers";
import { DeadlineQueue } from "../../engine/source/deadline_queue.ts";
import { assert, assertEquals, seededRandom } from "./_helpers.ts";

function install() {
  return FakeTimers.install({
    now: 1_700_000_000_000,
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
}

Deno.test("deadline queue: takeDue returns due values earliest first, ties in insertion order", () => {
  const queue = new DeadlineQueue<string>(() => {});
  try {
    queue.set("c", 3000, "c");
    queue.set("a", 1000, "a");
    queue.set("b1", 2000, "b1");
    queue.set("b2", 2000, "b2");
    queue.set("b3", 2000, "b3");
    assertEquals(queue.size, 5);
    assertEquals(queue.nextAt, 1000);
    assertEquals(queue.takeDue(999), []);
    assertEquals(queue.takeDue(2000), ["a", "b1", "b2", "b3"]);
    assertEquals(queue.size, 1);
    assertEquals(queue.nextAt, 3000);
    assertEquals(queue.takeDue(Infinity), ["c"]);
    assertEquals(queue.nextAt, undefined);
  } finally {
    queue.close();
  }
});

Deno.test("deadline queue: matches a sorted reference over random sets, moves and deletes", () => {
  const random = seededRandom(7);
  const queue = new DeadlineQueue<string>(() => {});
  const reference = new Map<string, { at: number; seq: number }>();
  let seq = 0;
  try {
    for (let step = 0; step < 5_000; step++) {
      const key = `k${Math.floor(random() * 500)}`;
      if (random() < 0.7) {
        const at = Math.floor(random() * 10_000);
        queue.set(key, at, key);
        reference.set(key, { at, seq: seq++ });
      } else {
        const expected = reference.has(key) ? key : undefined;
        assertEquals(queue.delete(key), expected);
        reference.delete(key);
      }
      assertEquals(queue.size, reference.size);
      assertEquals(queue.has(key), reference.has(key));
    }
    const expected = [...reference.entries()]
      .sort((a, b) => a[1].at - b[1].at || a[1].seq - b[1].seq)
      .map(([key]) => key);
    assertEquals(queue.values().length, expected.length);
    assertEquals(queue.takeDue(Infinity), expected);
  } finally {
    queue.close();
  }
});

Deno.test("deadline queue: delete returns the value and skips it", () => {
  const queue = new DeadlineQueue<number>(() => {});
  try {
    queue.set("x", 10, 1);
    queue.set("y", 20, 2);
    assertEquals(queue.delete("x"), 1);
    assertEquals(queue.delete("x"), undefined);
    assert(!queue.has("x"));
    assertEquals(queue.takeDue(100), [2]);
  } finally {
    queue.close();
  }
});

Deno.test("deadline queue: setting a key again moves its deadline", () => {
  const queue = new DeadlineQueue<string>(() => {});
  try {
    queue.set("x", 10, "x-early");
    queue.set("y", 20, "y");
    queue.set("x", 30, "x-late");
    assertEquals(queue.size, 2);
    assertEquals(queue.takeDue(25), ["y"]);
    assertEquals(queue.takeDue(30), ["x-late"]);
  } finally {
    queue.close();
  }
});

Deno.test("deadline queue: many deadlines share one timer that fires when the earliest is due", async () => {
  const clock = install();
  const fired: string[][] = [];
  const queue = new DeadlineQueue<string>((due) => fired.push(due));
  try {
    const start = Date.now();
    for (let i = 0; i < 1000; i++) queue.set(`k${i}`, start + 10_000 + i * 10, `k${i}`);
    assertEquals(clock.countTimers(), 1, "one timer for 1000 deadlines");
    queue.set("first", start + 5_000, "first");
    assertEquals(clock.countTimers(), 1, "an earlier deadline re-arms the one timer");

    await clock.tickAsync(4_999);
    assertEquals(fired, []);
    await clock.tickAsync(1);
    assertEquals(fired, [["first"]]);
    assertEquals(clock.countTimers(), 1);

    await clock.tickAsync(5_000 + 25);
    assertEquals(fired.slice(1).flat(), ["k0", "k1", "k2"]);
    queue.delete("k3");
    await clock.tickAsync(10_000);
    assertEquals(fired.flat().length, 1 + 999, "k3 was deleted, the others fired");
    assert(!fired.flat().includes("k3"));
    assertEquals(queue.size, 0);
    assertEquals(clock.countTimers(), 0, "no timer once empty");
  } finally {
    queue.close();
    clock.uninstall();
  }
});

Deno.test("deadline queue: deleting the earliest deadline re-arms for the next one", async () => {
  const clock = install();
  const fired: number[] = [];
  const queue = new DeadlineQueue<number>((due) => fired.push(...due));
  try {
    const start = Date.now();
    queue.set("a", start + 100, 1);
    queue.set("b", start + 300, 2);
    queue.delete("a");
    assertEquals(clock.countTimers(), 1);
    await clock.tickAsync(200);
    assertEquals(fired, []);
    await clock.tickAsync(100);
    assertEquals(fired, [2]);
    queue.set("c", start + 350, 3);
    queue.delete("c");
    // The timer may stay armed (resetting timers costs more than an idle wake-up), but
    // it fires nothing and is not re-armed with nothing left.
    await clock.tickAsync(100);
    assertEquals(fired, [2]);
    assertEquals(clock.countTimers(), 0, "no timer is left once nothing waits");
  } finally {
    queue.close();
    clock.uninstall();
  }
});

Deno.test("deadline queue: a deadline further than setTimeout's limit (~24.8 days) still fires", async () => {
  const clock = install();
  const fired: string[] = [];
  const queue = new DeadlineQueue<string>((due) => fired.push(...due));
  try {
    const at = Date.now() + 40 * 86_400_000;
    queue.set("far", at, "far");
    await clock.tickAsync(30 * 86_400_000);
    assertEquals(fired, [], "not due yet after the first (capped) timer");
    assertEquals(clock.countTimers(), 1, "re-armed after the capped timer");
    await clock.tickAsync(10 * 86_400_000);
    assertEquals(fired, ["far"]);
  } finally {
    queue.close();
    clock.uninstall();
  }
});

Deno.test("deadline queue: a deadline in the past fires on the next timer turn", async () => {
  const clock = install();
  const fired: string[] = [];
  const queue = new DeadlineQueue<string>((due) => fired.push(...due));
  try {
    queue.set("past", Date.now() - 1000, "past");
    assertEquals(fired, [], "never synchronously inside set()");
    await clock.tickAsync(0);
    assertEquals(fired, ["past"]);
  } finally {
    queue.close();
    clock.uninstall();
  }
});

Deno.test("deadline queue: close clears the timer and nothing fires afterwards", async () => {
  const clock = install();
  const fired: string[] = [];
  const queue = new DeadlineQueue<string>((due) => fired.push(...due));
  try {
    queue.set("a", Date.now() + 10, "a");
    queue.close();
    assertEquals(clock.countTimers(), 0);
    queue.set("b", Date.now() + 10, "b");
    assertEquals(clock.countTimers(), 0, "a closed queue arms no timer");
    await clock.tickAsync(1000);
    assertEquals(fired, []);
    assertEquals(queue.size, 2, "values stay for takeDue after close");
  } finally {
    clock.uninstall();
  }
});

Deno.test("deadline queue: real timers: fires once with every due value", async () => {
  const due: string[][] = [];
  const { promise, resolve } = Promise.withResolvers<void>();
  const queue = new DeadlineQueue<string>((values) => {
    due.push(values);
    resolve();
  });
  try {
    const at = Date.now() + 20;
    queue.set("a", at, "a");
    queue.set("b", at, "b");
    await promise;
    assertEquals(due, [["a", "b"]]);
  } finally {
    queue.close();
  }
});
