/**
 * Child process of tests/store/crash_test.ts: a ThreadFlow engine on a SQLite
 * file, driven through the library API.
 *
 * `submit DB COUNT`: submits COUNT tasks (batches and singles), prints
 * `ACK <id>` once each submit is acknowledged and `DONE <id>` as tasks
 * succeed, then keeps running until killed.
 * `recover DB`: opens the same file, waits until no task is unfinished,
 * prints `RECOVERED <counts JSON>` and closes.
 *
 * @module
 */

import { ThreadFlow } from "../../mod.ts";
import { SqliteStore } from "../../engine/store/sqlite/sqlite_store.ts";

const [mode, path, countText] = Deno.args;
const encoder = new TextEncoder();
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

const tf = await ThreadFlow.start({ workers: 2, store: new SqliteStore(path) });
if (mode === "submit") {
  tf.on((event) => {
    if (event.type === "task.succeeded") say(`DONE ${event.task.id}`);
  });
  const count = Number(countText);
  const input = (i: number) => ({
    type: i % 3 === 0 ? "fib" : "sleep",
    payload: i % 3 === 0 ? { n: 18 } : { ms: 3 },
    priority: 1 + (i % 10),
    maxAttempts: i % 2 === 0 ? 1 : 3,
    idempotencyKey: `crash-${i}`,
  });
  let i = 0;
  // Half in batches of 50, half as singles, 20 in flight.
  while (i < count / 2) {
    const batch = Array.from({ length: Math.min(50, count / 2 - i) }, (_, k) => input(i + k));
    i += batch.length;
    for (const task of await tf.submitBatch(batch)) say(`ACK ${task.id}`);
  }
  while (i < count) {
    const group = Array.from({ length: Math.min(20, count - i) }, (_, k) => input(i + k));
    i += group.length;
    const tasks = await Promise.all(group.map((one) => tf.submit(one)));
    for (const task of tasks) say(`ACK ${task.id}`);
  }
  say("SUBMITTED");
  await new Promise(() => {}); // until SIGKILL
} else {
  for (;;) {
    const { counts } = await tf.stats();
    if (counts.queued + counts.running + counts.scheduled === 0) {
      say(`RECOVERED ${JSON.stringify(counts)}`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await tf.close();
}
