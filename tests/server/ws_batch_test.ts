import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startService } from "./_service.ts";
import { type ServerMessage, TestClient } from "./_ws_client.ts";

type Json = Record<string, unknown>;

const BURST = 200;

function taskId(message: ServerMessage): string {
  return (message.task as Json).id as string;
}

/** Sends `BURST` submits at once and waits for every ack and every `task.succeeded`. */
async function burst(client: TestClient): Promise<{ acks: ServerMessage[]; ends: string[] }> {
  client.send({ type: "subscribe", ref: "s", filter: { statuses: ["succeeded"] } });
  await client.next((m) => m.type === "subscribed");
  for (let i = 0; i < BURST; i++) {
    client.send({ type: "submit", ref: i, task: { type: "noop", payload: { i } } });
  }
  const acks: ServerMessage[] = [];
  for (let i = 0; i < BURST; i++) acks.push(await client.next((m) => m.type === "ack"));
  const ends: string[] = [];
  for (let i = 0; i < BURST; i++) {
    ends.push(taskId(await client.next((m) => m.type === "task.succeeded")));
  }
  return { acks, ends };
}

Deno.test("ws ?batch=1: a burst's acks and events come in few frames, each message once and in order", async () => {
  const svc = await startService();
  const batched = await TestClient.connect(`${svc.wsUrl}?batch=1`);
  const plain = await TestClient.connect(svc.wsUrl);
  try {
    const { acks, ends } = await burst(batched);
    assertEquals(acks.map((ack) => ack.ref), Array.from({ length: BURST }, (_, i) => i));
    const ids = acks.map(taskId);
    assertEquals(new Set(ids).size, BURST);
    assertEquals(new Set(ends), new Set(ids), "every task's end arrives once");
    assertEquals(batched.received.filter((m) => m.type === "task.succeeded").length, BURST);
    const seqs = batched.received.filter((m) => m.type === "task.succeeded").map((m) => m.seq);
    assert(seqs.every((seq, i) => i === 0 || (seq as number) > (seqs[i - 1] as number)));
    assert(batched.batches > 0, "some frames carried several messages");
    assert(
      batched.frames < batched.received.length / 4,
      `${batched.received.length} messages came in ${batched.frames} frames`,
    );

    // Without ?batch every message is its own frame.
    await burst(plain);
    assertEquals(plain.batches, 0);
    assertEquals(plain.frames, plain.received.length);
  } finally {
    await batched.close();
    await plain.close();
    await svc.close();
  }
});

Deno.test("ws ?batch=1: a lone answer is a plain message; MessagePack batches keep bytes", async () => {
  const svc = await startService();
  const client = await TestClient.connect(`${svc.wsUrl}?batch=true&encoding=msgpack`, {
    encoding: "msgpack",
  });
  try {
    client.send({ type: "ping", ref: "p" });
    await client.next((m) => m.type === "pong");
    assertEquals(client.batches, 0, "hello and pong came alone");
    assertEquals(client.frames, 2);

    client.send({ type: "subscribe", filter: { statuses: ["succeeded"] } });
    await client.next((m) => m.type === "subscribed");
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    for (let i = 0; i < 20; i++) {
      client.send({ type: "submit", ref: i, task: { type: "noop", payload: bytes } });
    }
    for (let i = 0; i < 20; i++) {
      const ack = await client.next((m) => m.type === "ack" && m.ref === i);
      assertEquals((ack.task as Json).payload, bytes);
    }
    assert(client.batches > 0, "the burst's acks came batched");
  } finally {
    await client.close();
    await svc.close();
  }
});

Deno.test("ws ?batch with another value is refused with 400 naming the field", async () => {
  const svc = await startService();
  try {
    const response = await fetch(`${svc.url}/ws?batch=yes`, {
      headers: { upgrade: "websocket" },
    });
    assertEquals(response.status, 400);
    const body = await response.json();
    assertEquals(body.error.field, "batch");
    assertEquals(body.error.code, "validation_error");
  } finally {
    await svc.close();
  }
});
