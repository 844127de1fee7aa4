/**
 * A `while (true) {}` handler killed by its timeout. Kept alone in the file
 * that runs last: Deno 2.9's Worker.terminate() ends the worker for the engine
 * (its messages stop and a replacement starts) but does not stop a busy loop's
 * thread (denoland/deno#35657), which keeps a CPU core busy until the process
 * exits. Other tests use blocks.ts, which never yields but costs no CPU.
 */

import type { WorkerEvent } from "../../engine/model/events.ts";
import { assert, assertEquals, EventLog, startEngine, waitAllIdle } from "./_helpers.ts";

function workerEvents(log: EventLog, type: string): WorkerEvent[] {
  return log.events.filter((e): e is WorkerEvent => e.type === type);
}

Deno.test("timeout: a while (true) {} handler is killed by its timeout and the pool recovers", async () => {
  const tf = await startEngine({ workers: 1 });
  const log = new EventLog(tf);
  try {
    const spin = await tf.submit({ type: "spin", timeoutMs: 200 });
    const next = await tf.submit({ type: "noop", payload: "after" });
    const failed = await tf.wait(spin.id);
    assertEquals(failed.status, "failed");
    assertEquals(failed.error?.name, "TimeoutError");
    assert(failed.error!.message.includes("200 ms"), failed.error!.message);
    assertEquals(failed.attempts, 1);
    const done = await tf.wait(next.id);
    assertEquals(done.status, "succeeded", "the next task runs on the replacement worker");
    assertEquals(done.result, "after");
    await waitAllIdle(tf);
    const [worker] = tf.workers();
    assertEquals(worker.restarts, 1);
    assertEquals(worker.id, 0);
    const exited = workerEvents(log, "worker.exited");
    assertEquals(exited.length, 1);
    assertEquals(exited[0].reason, "timeout");
    assertEquals(workerEvents(log, "worker.started").length, 1, "the replacement started");
    assertEquals((await tf.stats()).workers.restarts, 1);
  } finally {
    await tf.close({ drainMs: 0 });
  }
});
