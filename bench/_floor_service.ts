/**
 * The floor of a submit on this platform, for the HTTP benchmark's part (a):
 * the least a service must do to keep ThreadFlow's promise for a no-op
 * `POST /api/tasks` with the memory store. `Deno.serve` reads the JSON body,
 * makes the task (a UUIDv7 id, the same fields, as the store tests make one), keeps it, runs it on one of
 * the module workers (`_bare_worker.ts`, one batch in flight per worker, the
 * others queued) and answers 201 with the task and the headers ThreadFlow's
 * answer carries. It validates nothing beyond the type, and has no events,
 * metrics, logging, limits or retries: the distance from this to ThreadFlow
 * is what those cost.
 *
 * @module
 */

import type { Task } from "../engine/model/task.ts";
import { makeTask } from "../tests/store/conformance.ts";
import { sendsChunked } from "../server/middleware/compression.ts";
import type { BareResult, BareTask } from "./_bare_worker.ts";

/** A floor service on an ephemeral port. */
export interface FloorService {
  /** `http://127.0.0.1:PORT/api/tasks`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the floor service with `workers` module workers.
 *
 * @example
 * ```ts ignore
 * const floor = await startFloor(2);
 * await floor.close();
 * ```
 */
export async function startFloor(workers: number): Promise<FloorService> {
  const tasks = new Map<string, Task>();
  const slots = Array.from({ length: workers }, () => {
    const worker = new Worker(new URL("./_bare_worker.ts", import.meta.url), { type: "module" });
    const slot = { worker, busy: false, queued: [] as BareTask[] };
    worker.onmessage = (event: MessageEvent<BareResult[]>) => {
      const now = Date.now();
      for (const { id, result } of event.data) {
        const task = tasks.get(id);
        if (task === undefined) continue;
        task.status = "succeeded";
        task.result = result;
        task.finishedAt = now;
      }
      slot.busy = false;
      send(slot);
    };
    return slot;
  });
  type Slot = (typeof slots)[number];
  const send = (slot: Slot) => {
    if (slot.busy || slot.queued.length === 0) return;
    slot.busy = true;
    slot.worker.postMessage(slot.queued);
    slot.queued = [];
  };
  let next = 0;
  let requests = 0;
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: (addr) => listening.resolve(addr) },
    async (request) => {
      const body = JSON.parse(await request.text());
      if (typeof body?.type !== "string") {
        return Response.json({ error: { field: "type" } }, { status: 400 });
      }
      const task = makeTask({
        type: body.type,
        payload: body.payload ?? null,
        priority: 0,
        maxAttempts: 3,
        timeoutMs: 30_000,
      });
      tasks.set(task.id, task);
      const slot = slots[next++ % slots.length];
      slot.queued.push({ id: task.id, type: task.type, payload: task.payload });
      send(slot);
      const json = JSON.stringify({ task });
      const headers: Record<string, string> = {
        "content-type": "application/json",
        location: `/api/tasks/${task.id}`,
        "x-request-id": `floor-${++requests}`,
      };
      if (sendsChunked(json.length)) headers["transfer-encoding"] = "chunked";
      return new Response(json, { status: 201, headers });
    },
  );
  const addr = await listening.promise;
  return {
    url: `http://127.0.0.1:${addr.port}/api/tasks`,
    async close() {
      await server.shutdown();
      for (const slot of slots) slot.worker.terminate();
    },
  };
}
