/**
 * ThreadFlow with real workers: byte payloads and results, moved to the
 * worker and back, and bytes refused at submit.
 */

import { ValidationError } from "../../engine/model/errors.ts";
import { assert, assertEquals, assertRejects, startEngine } from "./_helpers.ts";

Deno.test("thread flow: bytes move to the worker and back", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const bytes = new Uint8Array([1, 2, 3, 4, 5]);
    const task = await tf.submit({ type: "noop", payload: bytes });
    const done = await tf.wait(task.id);
    assertEquals(done.status, "succeeded");
    assert(done.result instanceof Uint8Array, "the result is bytes");
    assertEquals(done.result, new Uint8Array([1, 2, 3, 4, 5]));
    assert(done.payload instanceof Uint8Array, "the payload is bytes again");
    assertEquals(done.payload, new Uint8Array([1, 2, 3, 4, 5]), "the payload is restored");
    // Transferred, not copied: the submitter's buffer moved to the worker.
    assertEquals(bytes.buffer.detached, true);
    assertEquals((await tf.get(task.id))?.payload, new Uint8Array([1, 2, 3, 4, 5]));
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: a handler may return new bytes; gzip and sha256 take bytes", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const echo = await tf.submit({ type: "bytes_echo", payload: new Uint8Array([1, 2, 3]) });
    const echoed = await tf.wait(echo.id);
    assertEquals(echoed.result, new Uint8Array([3, 2, 1]));
    assertEquals(echoed.payload, new Uint8Array([1, 2, 3]));

    const text = new TextEncoder().encode("a".repeat(10_000));
    const gz = await tf.wait((await tf.submit({ type: "gzip", payload: text })).id);
    assert(gz.result instanceof Uint8Array);
    const unzipped = await new Response(
      new Blob([gz.result as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      ),
    ).text();
    assertEquals(unzipped, "a".repeat(10_000));

    const hash = await tf.wait(
      (await tf.submit({ type: "sha256", payload: new TextEncoder().encode("abc") })).id,
    );
    assertEquals(
      (hash.result as { hex: string }).hex,
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: many byte tasks batched together all come back", async () => {
  const tf = await startEngine({ workers: 2 });
  try {
    const inputs = Array.from({ length: 500 }, (_, i) => ({
      type: "noop",
      payload: new Uint8Array([i & 0xff, i >> 8]),
    }));
    const results = await tf.submitBatch(inputs);
    const done = await Promise.all(results.map((r) => tf.wait(r.id)));
    done.forEach((task, i) => {
      assertEquals(task.status, "succeeded");
      assertEquals(task.result, new Uint8Array([i & 0xff, i >> 8]));
      assertEquals(task.payload, new Uint8Array([i & 0xff, i >> 8]));
    });
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test("thread flow: a byte view moves with its offset; the result holds only the view's bytes", async () => {
  const tf = await startEngine({ workers: 1 });
  try {
    const whole = new Uint8Array(100).map((_, i) => i);
    const view = whole.subarray(10, 15);
    const done = await tf.wait((await tf.submit({ type: "noop", payload: view })).id);
    assertEquals(done.result, new Uint8Array([10, 11, 12, 13, 14]));
    assertEquals(done.payload, new Uint8Array([10, 11, 12, 13, 14]));
  } finally {
    await tf.close({ drainMs: 0 });
  }
});

Deno.test({
  name: "thread flow: bytes that were already moved away are refused at submit",
  async fn() {
    const tf = await startEngine({ workers: 1 });
    try {
      const bytes = new Uint8Array([9, 9]);
      await tf.wait((await tf.submit({ type: "noop", payload: bytes })).id);
      assert(bytes.buffer.detached);
      const error = await assertRejects(
        () => tf.submit({ type: "noop", payload: bytes }),
        ValidationError,
      );
      assertEquals(error.field, "payload");
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});

Deno.test({
  name: "thread flow: one Uint8Array in two tasks of a batch: both run, or the batch is refused",
  async fn() {
    const tf = await startEngine({ workers: 1 });
    try {
      const shared = new Uint8Array([1, 2, 3]);
      let results;
      try {
        results = await tf.submitBatch([
          { type: "noop", payload: shared },
          { type: "noop", payload: shared },
        ]);
      } catch (error) {
        assert(error instanceof ValidationError, String(error));
        assertEquals(error.field, "tasks[1].payload");
        return;
      }
      const done = await Promise.all(results.map((r) => tf.wait(r.id)));
      for (const task of done) {
        assertEquals(task.status, "succeeded", task.error?.message);
        assertEquals(task.result, new Uint8Array([1, 2, 3]));
      }
    } finally {
      await tf.close({ drainMs: 0 });
    }
  },
});
