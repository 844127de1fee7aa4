/**
 * Child process of tests/store/postgres_schedules_test.ts: one ThreadFlow
 * node on a PostgreSQL schema. Prints `READY`, then `FIRED <tick> <taskId>`
 * for each schedule tick this node fired, and runs until killed.
 *
 * Usage: `deno run -A _schedule_child.ts URL SCHEMA NODE_ID`
 *
 * @module
 */

import { ThreadFlow } from "../../mod.ts";
import { PostgresStore } from "../../engine/store/postgres/postgres_store.ts";

const [url, schema, nodeId] = Deno.args;
const encoder = new TextEncoder();
const tf = await ThreadFlow.start({
  workers: 1,
  nodeId,
  store: new PostgresStore(url, { schema, maxConnections: 3 }),
});
tf.on((event) => {
  if (event.type === "schedule.fired" && event.nodeId === nodeId) {
    Deno.stdout.writeSync(encoder.encode(`FIRED ${event.tick} ${event.taskId}\n`));
  }
});
Deno.stdout.writeSync(encoder.encode("READY\n"));
await new Promise(() => {}); // until killed
