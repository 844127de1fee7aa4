/**
 * Child process of tests/store/postgres_cluster_test.ts: one ThreadFlow node
 * on a PostgreSQL schema with a short lease. Prints `STARTED <id>` for each
 * task it starts, then runs until killed.
 *
 * Usage: `deno run -A _cluster_child.ts URL SCHEMA NODE_ID`
 *
 * @module
 */

import { ThreadFlow } from "../../mod.ts";
import { PostgresStore } from "../../engine/store/postgres/postgres_store.ts";

const [url, schema, nodeId] = Deno.args;
const encoder = new TextEncoder();
const tf = await ThreadFlow.start({
  workers: 2,
  nodeId,
  leaseMs: 1_500,
  heartbeatMs: 300,
  store: new PostgresStore(url, { schema }),
});
tf.on((event) => {
  if (event.type === "task.started" && event.task.nodeId === nodeId) {
    Deno.stdout.writeSync(encoder.encode(`STARTED ${event.task.id}\n`));
  }
});
Deno.stdout.writeSync(encoder.encode("READY\n"));
await new Promise(() => {}); // until SIGKILL
