/**
 * A server under test in a process of its own, for the HTTP benchmark's part
 * (a): the service on a store (`memory`, `sqlite:PATH`) or the floor
 * (`floor`), with `WORKERS` engine workers. It prints one JSON line
 * `{ url }` (the service's base URL, or the floor's submit URL) once
 * listening, and closes and exits when its standard input closes.
 *
 * One process per server, as in production: a service's CPU time is its own,
 * and its heap holds only its own tasks (in one process, the SQLite rounds
 * ran beside the memory store's hundreds of thousands of tasks, and paid for
 * their garbage collection).
 *
 * ```sh
 * deno run -A bench/_service_process.ts sqlite:/tmp/bench.db 2
 * ```
 *
 * @module
 */

import { startFloor } from "./_floor_service.ts";
import { startService } from "./_http_service.ts";

const [kind, workers] = [Deno.args[0], Number(Deno.args[1])];
const server = kind === "floor" ? await startFloor(workers) : await startService(workers, kind);
console.log(JSON.stringify({ url: server.url }));
for await (const _ of Deno.stdin.readable) { /* nothing is sent: wait for the end */ }
await server.close();
