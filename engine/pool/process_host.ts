/**
 * The main thread of a worker process. It runs the same worker runtime as a
 * thread slot, in a module worker of its own, and relays messages between
 * it and the pool: frames on stdin and stdout, structured clone inside.
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
import { FrameDecoder, FrameEncoder, FrameWriter } from "./frames.ts";
import type { NormalizedPermissions } from "./permissions.ts";
import { type FromWorker, type JobOutcome, toTaskError, type ToWorker } from "./protocol.ts";

/** How often the claim cells are read for starts the task worker has not reported. */
const START_WATCH_MS = 20;

/**
 * Runs a worker process for `types` (task type name → module URL), whose
 * tasks get exactly `permissions`, until stdin closes. Called by the
 * process's generated main module.
 */
export async function hostWorker(
  types: Record<string, string>,
  permissions: NormalizedPermissions,
): Promise<void> {
  const encoder = new FrameEncoder();
  const out = new FrameWriter(Deno.stdout.writable.getWriter(), () => Deno.exit(1));
  const send = (message: FromWorker) => sendFrame(encoder, out, message);
  const worker = new Worker(entryModule(types, { inProcess: true }), {
    type: "module",
    name: "threadflow-task",
    deno: { permissions: { ...permissions, import: false } },
  });
  let claims: ClaimCells | null = null;
  let lastHeard = performance.now();
  /** Sequence number last reported started per cell, by this thread. */
  let announced = new Int32Array(0);

  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    lastHeard = performance.now();
    send(event.data);
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
    if (starts.length > 0) send({ kind: "report", outcomes: [], starts });
  }, START_WATCH_MS);

  const decoder = new FrameDecoder();
  try {
    for await (const chunk of Deno.stdin.readable) {
      for (const message of decoder.push(chunk) as ToWorker[]) {
        if (message.kind === "init") {
          claims = new ClaimCells(message.capacity);
          announced = new Int32Array(message.capacity);
          worker.postMessage({ ...message, cells: claims.cells, starts: claims.starts });
        } else if (message.kind === "run") {
          // The pool cannot take a job back from a process: each cell is claimable as sent.
          if (claims !== null) {
            for (const job of message.jobs) Atomics.store(claims.cells, job[4], job[5]);
          }
          worker.postMessage(message);
        } else {
          worker.postMessage(message);
        }
      }
    }
  } finally {
    // stdin closed: the pool is gone (or let this process go). Nothing may outlive it.
    clearInterval(watch);
    Deno.exit(0);
  }
}

/** Sends a message; a report whose values MessagePack cannot write fails only those tasks. */
function sendFrame(encoder: FrameEncoder, out: FrameWriter, message: FromWorker): void {
  try {
    out.write(encoder.encode(message));
    return;
  } catch (error) {
    if (message.kind !== "report") {
      out.write(encoder.encode({ kind: "exiting", reason: `a message failed: ${error}` }));
      return;
    }
  }
  for (const outcome of message.outcomes) {
    try {
      out.write(encoder.encode({ kind: "report", outcomes: [outcome], starts: [] }));
    } catch (error) {
      const [cell, seq, , , startedAt, runMs] = outcome;
      const failure = toTaskError(error);
      failure.message =
        `The task's result cannot be sent from its worker process: ${failure.message}`;
      const failed: JobOutcome = [cell, seq, false, failure, startedAt, runMs];
      out.write(encoder.encode({ kind: "report", outcomes: [failed], starts: [] }));
    }
  }
  if (message.starts.length > 0) {
    out.write(encoder.encode({ kind: "report", outcomes: [], starts: message.starts }));
  }
}
