/**
 * Connection abuse: 2,000 idle TCP connections (half of them slowloris
 * requests that never finish their headers) and 500 idle WebSockets held
 * open against a `main.ts` subprocess while normal traffic goes on. The
 * traffic must complete, in bounded time, on 127.0.0.1.
 */

import { ok as assert } from "node:assert/strict";
import { postJson, send, spawnMain } from "./_service.ts";

const IDLE_TCP = 2_000;
const IDLE_WS = 500;
const TASKS = 1_000;
/** File descriptors needed here: both ends live on this machine, the test holds one end of each. */
const FDS_NEEDED = IDLE_TCP + IDLE_WS + 500;

function softFileLimit(): number {
  const limits = Deno.readTextFileSync("/proc/self/limits");
  const match = /Max open files\s+(\d+|unlimited)/.exec(limits);
  if (!match) return Infinity;
  return match[1] === "unlimited" ? Infinity : Number(match[1]);
}

const LIMIT = softFileLimit();
if (LIMIT < FDS_NEEDED) {
  console.warn(
    `connections_test: ulimit -n is ${LIMIT}, below the ${FDS_NEEDED} this test needs; ` +
      "it is skipped. Raise it (ulimit -n 20000) to run it. A service facing many clients " +
      "needs a high limit too.",
  );
}

Deno.test({
  name:
    `connections: ${IDLE_TCP} idle TCP connections and ${IDLE_WS} idle WebSockets do not stop traffic`,
  // Skipped when `ulimit -n` is too low for the sockets this test opens (printed above).
  ignore: LIMIT < FDS_NEEDED,
  fn: async () => {
    const service = await spawnMain([
      "--workers",
      "2",
      "--log-level",
      "error",
      "--drain-ms",
      "1000",
    ]);
    const idle: Deno.TcpConn[] = [];
    const sockets: WebSocket[] = [];
    const closedSockets: Promise<unknown>[] = [];
    try {
      for (let batch = 0; batch < IDLE_TCP; batch += 200) {
        const conns = await Promise.all(
          Array.from(
            { length: Math.min(200, IDLE_TCP - batch) },
            () => Deno.connect({ hostname: "127.0.0.1", port: service.port }),
          ),
        );
        for (const [i, conn] of conns.entries()) {
          idle.push(conn);
          // Every other one starts a request and never finishes its headers (slowloris).
          if (i % 2 === 0) {
            await conn.write(new TextEncoder().encode("GET /api/stats HTTP/1.1\r\nHost: x\r\n"));
          }
        }
      }
      for (let batch = 0; batch < IDLE_WS; batch += 100) {
        await Promise.all(Array.from({ length: Math.min(100, IDLE_WS - batch) }, () => {
          const socket = new WebSocket(`${service.url.replace("http", "ws")}/ws`);
          sockets.push(socket);
          closedSockets.push(new Promise((resolve) => (socket.onclose = resolve)));
          return new Promise((resolve, reject) => {
            socket.onmessage = resolve; // hello
            socket.onerror = () => reject(new Error("A WebSocket failed to open."));
          });
        }));
      }
      const figures = (await send(`${service.url}/metrics`)).text;
      const clients = /threadflow_websocket_clients\S*\s+(\d+)/.exec(figures)?.[1];

      const started = Date.now();
      let next = 0;
      let succeeded = 0;
      const failures: string[] = [];
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (next < TASKS) {
          next++;
          const answer = await postJson(`${service.url}/api/tasks`, {
            type: "noop",
            payload: next,
          });
          if (answer.status !== 201) {
            failures.push(`submit ${answer.status} ${answer.text}`);
            continue;
          }
          const id = (answer.json as { task: { id: string } }).task.id;
          const done = await send(`${service.url}/api/tasks/${id}/wait?timeoutMs=30000`);
          if ((done.json as { task?: { status?: string } }).task?.status === "succeeded") {
            succeeded++;
          } else failures.push(`wait ${done.status} ${done.text.slice(0, 200)}`);
        }
      }));
      const trafficMs = Date.now() - started;
      const health = await send(`${service.url}/health`);
      console.log(
        `connections: ${idle.length} idle TCP + ${sockets.length} idle WS (server counts ${clients} ` +
          `WS clients); ${succeeded}/${TASKS} tasks submitted and waited in ${trafficMs} ms ` +
          `(ulimit -n ${LIMIT})`,
      );
      assert(failures.length === 0, failures.slice(0, 5).join("\n"));
      assert(succeeded === TASKS, `${succeeded} of ${TASKS} tasks succeeded.`);
      assert(health.status === 200, `/health ${health.status}`);
      assert(!service.dead, "The service died.");
    } finally {
      for (const conn of idle) conn.close();
      for (const socket of sockets) socket.close();
      await Promise.all(closedSockets);
      await service.stop();
    }
  },
});
