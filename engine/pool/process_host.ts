/**
 * The main thread of a worker process. It runs the same worker runtime as a
 * thread slot, in a module worker of its own, and relays messages between
 * it and the pool: frames on stdin and stdout, passed through undecoded
 * (the task worker decodes and encodes them), so this thread stays light.
 *
 * Keeping the tasks off this thread is what makes the process dependable:
 * this thread stays free while a task spins, so it
 * - sees stdin close when the pool's process is gone, even by SIGKILL, and
 *   exits (no orphan outlives the service);
 * - shares claim cells with the task worker, and reports the start of a
 *   job the task worker has been too busy to report, so the pool arms its
 *   timeout.
 *
 * The pool kills the whole process (SIGKILL) on a timeout or a cancel past
 * its grace: that ends a spinning task for sure, which terminating a thread
 * does not.
 *
 * @module
 */

import { ClaimCells } from "./claims.ts";
import { entryModule } from "./entry.ts";
import { FrameDecoder, FrameEncoder, FrameWriter, type MessagePack } from "./frames.ts";
import type { NormalizedPermissions } from "./permissions.ts";
import { type FromWorker, startsReport, type ToWorker } from "./protocol.ts";

/** How often the claim cells are read for starts the task worker has not reported. */
const START_WATCH_MS = 20;

/**
 * Runs a worker process for `types` (task type name → module URL), whose
 * tasks get exactly `permissions`, until stdin closes. `msgpack` is
 * `@msgpack/msgpack` and the URL it was loaded from. Called by the
 * process's generated main module.
 */
export async function hostWorker(
  types: Record<string, string>,
  permissions: NormalizedPermissions,
  msgpack: { module: MessagePack; url: string },
): Promise<void> {
  const encoder = new FrameEncoder(msgpack.module);
  const out = new FrameWriter(Deno.stdout.writable.getWriter(), () => Deno.exit(1));
  const send = (message: FromWorker) => out.write(encoder.encode(message));
  const worker = new Worker(entryModule(types, { inProcess: true, msgpackUrl: msgpack.url }), {
    type: "module",
    name: "threadflow-task",
    deno: { permissions: { ...permissions, import: false } },
  });
  let claims: ClaimCells | null = null;
  let lastHeard = performance.now();
  /** Sequence number last reported started per cell, by this thread. */
  let announced = new Int32Array(0);

  // The task worker sends frames made on its own thread: they go out as they are.
  worker.onmessage = (event: MessageEvent<Uint8Array>) => {
    lastHeard = performance.now();
    out.write(event.data);
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    send({ kind: "exiting", reason: event.message || "an uncaught error" });
  };
  worker.onmessageerror = () => send({ kind: "exiting", reason: "a message could not be read" });

  const watch = setInterval(() => {
    if (claims === null || performance.now() - lastHeard < START_WATCH_MS) return;
    const starts: number[] = [];
    for (let cell = 0; cell < claims.cells.length; cell++) {
      const value = Atomics.load(claims.cells, cell);
      if (value >= 0 || announced[cell] === -value) continue;
      announced[cell] = -value;
      starts.push(cell, -value, claims.starts[cell]);
    }
    if (starts.length > 0) send(startsReport(starts));
  }, START_WATCH_MS);

  const decoder = new FrameDecoder(msgpack.module);
  try {
    for await (const chunk of Deno.stdin.readable) {
      for (const body of decoder.bodies(chunk)) {
        if (claims !== null) {
          // Decoded by the task worker, off this thread.
          worker.postMessage(body, [body.buffer]);
          continue;
        }
        const init = decoder.decode(body) as ToWorker;
        if (init.kind !== "init") continue;
        claims = new ClaimCells(init.capacity);
        announced = new Int32Array(init.capacity);
        worker.postMessage({ ...init, cells: claims.cells, starts: claims.starts, frames: true });
      }
    }
  } finally {
    // stdin closed: the pool is gone (or let this process go). Nothing may outlive it.
    clearInterval(watch);
    Deno.exit(0);
  }
}
