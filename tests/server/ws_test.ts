import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startService } from "./_service.ts";
import { type ServerMessage, TestClient } from "./_ws_client.ts";
import { RawSocket } from "../_raw_websocket.ts";

type Json = Record<string, unknown>;

const TERMINAL = new Set(["task.succeeded", "task.failed", "task.cancelled"]);

function taskOf(message: ServerMessage): Json {
  return message.task as Json;
}

Deno.test("ws JSON: hello, ping, submit with ack, live events, error with ref, unsubscribe", async () => {
  const svc = await startService();
  const client = await TestClient.connect(svc.wsUrl);
  try {
    const hello = client.received[0];
    assertEquals(hello.type, "hello");
    assertEquals(hello.nodeId, svc.engine.nodeId);
    assert(typeof hello.seq === "number" && typeof hello.version === "string");

    client.send({ type: "ping", ref: "p1" });
    const pong = await client.next((m) => m.type === "pong");
    assertEquals(pong.ref, "p1");
    assert(typeof pong.time === "number");

    client.send({ type: "subscribe", ref: "s1" });
    const subscribed = await client.next((m) => m.type === "subscribed");
    assertEquals(subscribed.ref, "s1");
    assert(typeof subscribed.seq === "number");

    client.send({ type: "submit", ref: "r1", task: { type: "fib", payload: { n: 25 } } });
    const ack = await client.next((m) => m.type === "ack" && m.ref === "r1");
    const id = taskOf(ack).id;
    const done = await client.next((m) => m.type === "task.succeeded" && taskOf(m).id === id);
    assertEquals(taskOf(done).result, 75025);
    const seqs = client.received.filter((m) => typeof m.seq === "number" && m.type !== "hello")
      .map((m) => m.seq as number);
    assert(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]), "seq only grows");

    client.send({ type: "submit", ref: "r2", task: { type: "nope" } });
    const unknownType = await client.next((m) => m.type === "error" && m.ref === "r2");
    assertEquals((unknownType.error as Json).code, "unknown_task_type");

    client.send({ type: "submit", ref: "r3", task: { type: "fib", priority: 42 } });
    const badPriority = await client.next((m) => m.type === "error" && m.ref === "r3");
    assertEquals((badPriority.error as Json).field, "task.priority");

    client.send({ type: "submit", ref: "r4", task: { type: "sleep", payload: { ms: 10_000 } } });
    const sleeping = await client.next((m) => m.type === "ack" && m.ref === "r4");
    client.send({ type: "cancel", ref: "c1", id: taskOf(sleeping).id });
    const cancelled = await client.next((m) => m.type === "ack" && m.ref === "c1");
    assertEquals(taskOf(cancelled).id, taskOf(sleeping).id);
    await client.next((m) => m.type === "task.cancelled" && taskOf(m).id === taskOf(sleeping).id);

    client.send({ type: "cancel", ref: "c2", id: "01a213b1-ede8-768a-9564-6b4ffa82da50" });
    const notFound = await client.next((m) => m.type === "error" && m.ref === "c2");
    assertEquals((notFound.error as Json).code, "task_not_found");

    client.send({ type: "unsubscribe", ref: "u1" });
    assertEquals((await client.next((m) => m.type === "unsubscribed")).ref, "u1");
  } finally {
    await client.close();
    await svc.close();
  }
});

Deno.test("ws MessagePack: binary frames both ways, byte payloads and results stay bytes", async () => {
  const svc = await startService();
  const client = await TestClient.connect(`${svc.wsUrl}?encoding=msgpack`, {
    encoding: "msgpack",
  });
  try {
    client.send({ type: "subscribe", ref: 1, filter: { types: ["gzip"] } });
    await client.next((m) => m.type === "subscribed");
    const bytes = new TextEncoder().encode("abc".repeat(100));
    client.send({ type: "submit", ref: 2, task: { type: "gzip", payload: bytes } });
    const ack = await client.next((m) => m.type === "ack" && m.ref === 2);
    assertEquals(taskOf(ack).payload, bytes);
    const id = taskOf(ack).id;
    const done = await client.next((m) => m.type === "task.succeeded" && taskOf(m).id === id);
    assert(taskOf(done).payload instanceof Uint8Array);
    assertEquals(taskOf(done).payload, bytes);
    assert(taskOf(done).result instanceof Uint8Array);
    // The filter let only gzip tasks through.
    client.send({ type: "submit", ref: 3, task: { type: "noop" } });
    await client.next((m) => m.type === "ack" && m.ref === 3);
    client.send({ type: "ping", ref: 4 });
    await client.next((m) => m.type === "pong");
    assert(client.received.every((m) =>
      !("task" in m) || (m.task as Json).type === "gzip" ||
      m.type === "ack"
    ));
  } finally {
    await client.close();
    await svc.close();
  }
});

Deno.test("ws: a JSON client that switches to binary frames gets binary answers", async () => {
  const svc = await startService();
  const client = await TestClient.connect(svc.wsUrl);
  try {
    const { encode } = await import("@msgpack/msgpack");
    client.socket.send(encode({ type: "ping", ref: "bin" }));
    const pong = await client.next((m) => m.type === "pong" && m.ref === "bin");
    assertEquals(pong.type, "pong");
  } finally {
    await client.close();
    await svc.close();
  }
});

Deno.test("ws: filters by task ids and statuses; stats snapshots when asked", async () => {
  const svc = await startService();
  const client = await TestClient.connect(svc.wsUrl);
  try {
    const first = await svc.engine.submit({ type: "sleep", payload: { ms: 200 } });
    client.send({
      type: "subscribe",
      filter: { taskIds: [first.id], statuses: ["succeeded"] },
      stats: { intervalMs: 250 },
    });
    await client.next((m) => m.type === "subscribed");
    await svc.engine.submit({ type: "noop" });
    const done = await client.next((m) => m.type === "task.succeeded");
    assertEquals(taskOf(done).id, first.id);
    const stats = await client.next((m) => m.type === "stats");
    assertEquals((stats.stats as Json).nodeId, svc.engine.nodeId);
    const taskEvents = client.received.filter((m) => m.type.startsWith("task."));
    assertEquals(taskEvents.map((m) => m.type), ["task.succeeded"]);

    client.send({ type: "subscribe", ref: "bad", filter: { statuses: ["exploded"] } });
    const error = await client.next((m) => m.type === "error" && m.ref === "bad");
    assertEquals((error.error as Json).field, "filter.statuses");
  } finally {
    await client.close();
    await svc.close();
  }
});

Deno.test("ws: subscribe since a seq replays missed events; too old a seq gets resync", async () => {
  const svc = await startService({ app: { webSocket: { ringSize: 200 } } });
  try {
    const first = await TestClient.connect(svc.wsUrl);
    first.send({ type: "subscribe" });
    await first.next((m) => m.type === "subscribed");
    const task = await svc.engine.submit({ type: "noop", payload: "one" });
    const done = await first.next((m) => m.type === "task.succeeded" && taskOf(m).id === task.id);
    const lastSeq = done.seq as number;
    await first.close();

    // Missed while away.
    const missed = await svc.engine.submitBatch(
      Array.from({ length: 5 }, (_, i) => ({ type: "noop", payload: i })),
    );
    await Promise.all(missed.map((result) => svc.engine.wait(result.id)));

    const second = await TestClient.connect(svc.wsUrl);
    second.send({ type: "subscribe", since: lastSeq });
    const subscribed = await second.next((m) => m.type === "subscribed");
    const replayedIds = new Set<string>();
    while (replayedIds.size < 5) {
      const event = await second.next((m) => m.type === "task.succeeded");
      replayedIds.add(taskOf(event).id as string);
    }
    for (const result of missed) assert(replayedIds.has(result.id));
    const replayed = second.received.filter((m) =>
      typeof m.seq === "number" && m.type !== "hello" &&
      m.type !== "subscribed"
    );
    assertEquals(replayed[0].seq, lastSeq + 1);
    assert(
      replayed.every((m, i) =>
        i === 0 || (m.seq as number) === (replayed[i - 1].seq as number) + 1
      ),
    );
    assert((subscribed.seq as number) >= (replayed.at(-1)!.seq as number));
    await second.close();

    // Push the ring past its size, then ask for a seq it no longer has.
    const flood = await svc.engine.submitBatch(
      Array.from({ length: 150 }, () => ({ type: "noop" })),
    );
    await Promise.all(flood.map((result) => svc.engine.wait(result.id)));
    const third = await TestClient.connect(svc.wsUrl);
    third.send({ type: "subscribe", since: lastSeq });
    const resync = await third.next((m) => m.type === "resync");
    assert(typeof resync.seq === "number");
    await third.close();
  } finally {
    await svc.close();
  }
});

Deno.test("ws: the ring keeps no events before the first client or past its age after the last left", async () => {
  const svc = await startService({ app: { webSocket: { ringMaxAgeMs: 100 } } });
  try {
    // No client yet: nobody holds a seq to resume from, so nothing is kept.
    const early = await svc.engine.submit({ type: "noop" });
    await svc.engine.wait(early.id);
    const first = await TestClient.connect(svc.wsUrl);
    const hello = first.received.find((m) => m.type === "hello")!;
    assert((hello.seq as number) >= 3, "hello carries the latest seq, kept or not");
    first.send({ type: "subscribe", since: (hello.seq as number) - 1 });
    await first.next((m) => m.type === "resync");
    first.send({ type: "subscribe" });
    const subscribed = await first.next((m) => m.type === "subscribed");
    await first.close();

    // Well past the ring's age after the last client left: these fresh events are not kept either.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const late = await svc.engine.submit({ type: "noop" });
    await svc.engine.wait(late.id);
    const second = await TestClient.connect(svc.wsUrl);
    second.send({ type: "subscribe", since: subscribed.seq });
    const resync = await second.next((m) => m.type === "resync");
    assert((resync.seq as number) > (subscribed.seq as number));
    await second.close();
  } finally {
    await svc.close();
  }
});

Deno.test("ws: malformed frames get error answers until the budget, then close 1008", async () => {
  const svc = await startService({ app: { webSocket: { maxMalformed: 3 } } });
  const client = await TestClient.connect(svc.wsUrl);
  try {
    const bad = ["{nope", "42", '{"type":7}', '{"type":"dance"}'];
    for (const frame of bad.slice(0, 3)) {
      client.socket.send(frame);
      const error = await client.next((m) => m.type === "error");
      assert(
        ["malformed_message", "invalid_message"].includes((error.error as Json).code as string),
      );
    }
    // A well-formed submit with a bad field is a refusal, not a malformed frame.
    for (let i = 0; i < 5; i++) {
      client.send({ type: "submit", ref: `bad-${i}`, task: { type: "noop", priority: 0 } });
      await client.next((m) => m.type === "error" && m.ref === `bad-${i}`);
    }
    // Still usable after three malformed frames.
    client.send({ type: "ping", ref: "still-here" });
    await client.next((m) => m.type === "pong");
    client.socket.send(bad[3]);
    const closed = await client.closed;
    assertEquals(closed.code, 1008);
    assertEquals(svc.service.hub.figures().malformed, 4);
  } finally {
    await client.close();
    await svc.close();
  }
});

Deno.test("ws with --token: refused without it, accepted with ?token= or the protocol header", async () => {
  const svc = await startService({ args: ["--token", "tok3n"] });
  try {
    const refused = await fetch(`${svc.url}/ws`, { headers: { upgrade: "websocket" } });
    assertEquals(refused.status, 401);
    await refused.body?.cancel();

    const socket = new WebSocket(svc.wsUrl);
    const failed = await new Promise<string>((resolve) => {
      socket.onerror = () => resolve("error");
      socket.onopen = () => resolve("open");
    });
    assertEquals(failed, "error");
    if (socket.readyState !== WebSocket.CLOSED) {
      await new Promise((resolve) => socket.onclose = resolve);
    }

    const byQuery = await TestClient.connect(`${svc.wsUrl}?token=tok3n`);
    await byQuery.close();
    const byProtocol = await TestClient.connect(svc.wsUrl, {
      protocols: ["threadflow", "token.tok3n"],
    });
    assertEquals(byProtocol.socket.protocol, "threadflow");
    await byProtocol.close();
  } finally {
    await svc.close();
  }
});

Deno.test("ws: a client that stops reading is closed with 1013 while a reading client gets every terminal event", async () => {
  const svc = await startService({
    app: {
      webSocket: {
        outbox: { highWaterBytes: 64 * 1024, lowWaterBytes: 16 * 1024, stuckMs: 300, checkMs: 10 },
      },
    },
  });
  const port = Number(new URL(svc.url).port);
  const slow = await RawSocket.connect(port);
  const healthy = await TestClient.connect(svc.wsUrl);
  try {
    await slow.sendText(JSON.stringify({ type: "subscribe" }));
    healthy.send({ type: "subscribe", filter: { statuses: ["succeeded"] } });
    await healthy.next((m) => m.type === "subscribed");
    // Big payloads fill the slow client's buffers quickly.
    const payload = "x".repeat(16 * 1024);
    const ids: string[] = [];
    for (let round = 0; round < 20 && svc.service.hub.figures().closedSlow === 0; round++) {
      const results = await svc.engine.submitBatch(
        Array.from({ length: 50 }, () => ({ type: "noop", payload })),
      );
      ids.push(...results.map((result) => result.id));
      await Promise.all(results.map((result) => svc.engine.wait(result.id)));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assertEquals(svc.service.hub.figures().closedSlow, 1);
    assertEquals(await slow.readUntilClose(30_000), 1013);
    // The reading client got every terminal event.
    const seen = new Set<string>();
    while (seen.size < ids.length) {
      const event = await healthy.next((m) => TERMINAL.has(m.type));
      seen.add(taskOf(event).id as string);
    }
    assertEquals(seen.size, ids.length);
  } finally {
    slow.close();
    await healthy.close();
    await svc.close();
  }
});

Deno.test("ws: worker events reach unfiltered subscriptions only", async () => {
  const svc = await startService();
  const all = await TestClient.connect(svc.wsUrl);
  const filtered = await TestClient.connect(svc.wsUrl);
  try {
    all.send({ type: "subscribe" });
    filtered.send({ type: "subscribe", filter: { types: ["sleep"] } });
    await all.next((m) => m.type === "subscribed");
    await filtered.next((m) => m.type === "subscribed");
    // A run past its timeout gets its worker replaced.
    const task = await svc.engine.submit({ type: "sleep", payload: { ms: 10_000 }, timeoutMs: 50 });
    const exited = await all.next((m) => m.type === "worker.exited");
    assert(typeof (exited.worker as Json).id === "number");
    await all.next((m) => m.type === "task.failed" && taskOf(m).id === task.id);
    await filtered.next((m) => m.type === "task.failed" && taskOf(m).id === task.id);
    assert(filtered.received.every((m) => !m.type.startsWith("worker.")));
  } finally {
    await all.close();
    await filtered.close();
    await svc.close();
  }
});

/** What a submit's answer says, without what differs run to run (ids, times). */
function answerOf(message: ServerMessage): Json {
  if (message.type === "error") return { ref: message.ref, error: message.error };
  const task = taskOf(message);
  return { ref: message.ref, type: message.type, task: task.type, payload: task.payload };
}

Deno.test("ws: pipelined submits are admitted a burst at a time, each answered as if sent alone", async () => {
  const svc = await startService();
  const batches: number[] = [];
  const submitBatch = svc.engine.submitBatch.bind(svc.engine);
  svc.engine.submitBatch = ((inputs: Parameters<typeof submitBatch>[0], options) => {
    batches.push(inputs.length);
    return submitBatch(inputs, options);
  }) as typeof svc.engine.submitBatch;
  const client = await TestClient.connect(svc.wsUrl);
  const tasks = (key: string): Json[] => [
    { type: "fib", payload: { n: 5 } },
    { type: "nope" },
    { type: "fib", payload: { n: 6 }, dependsOn: ["#0"] },
    { type: "fib", payload: { n: 7 }, idempotencyKey: key },
    { type: "fib", payload: { n: 8 }, idempotencyKey: key },
    { type: "fib", payload: { n: 9 }, priority: 42 },
    { type: "fib", payload: { n: 10 } },
  ];
  try {
    // One at a time: each answer before the next submit.
    const alone: Json[] = [];
    for (const [i, task] of tasks("alone").entries()) {
      client.send({ type: "submit", ref: `a${i}`, task });
      alone.push(answerOf(await client.next((m) => m.ref === `a${i}`)));
    }
    assertEquals(batches, []);
    // All at once: the server reads them in one go.
    for (const [i, task] of tasks("burst").entries()) {
      client.send({ type: "submit", ref: `b${i}`, task });
    }
    const burst: ServerMessage[] = [];
    for (let i = 0; i < alone.length; i++) burst.push(await client.next((m) => m.ref === `b${i}`));
    assert(batches.length > 0, "the burst went to the engine as a batch");
    assertEquals(
      burst.map(answerOf),
      alone.map((answer) => ({ ...answer, ref: (answer.ref as string).replace("a", "b") })),
    );
    // The second submit with the key got the first one's task, as it would alone.
    assertEquals(taskOf(burst[4]).id, taskOf(burst[3]).id);
  } finally {
    await client.close();
    await svc.close();
  }
});

Deno.test("ws: a burst of submits over maxQueued admits the first ones that fit", async () => {
  const svc = await startService({ engine: { maxQueued: 3 } });
  const client = await TestClient.connect(svc.wsUrl);
  // Paused, so none starts (and leaves the queue) while the burst is admitted.
  await svc.engine.pauseType("sleep");
  try {
    for (let i = 0; i < 5; i++) {
      client.send({ type: "submit", ref: i, task: { type: "sleep", payload: { ms: 5_000 } } });
    }
    const answers: ServerMessage[] = [];
    for (let i = 0; i < 5; i++) answers.push(await client.next((m) => m.ref === i));
    assertEquals(answers.map((m) => m.type), ["ack", "ack", "ack", "error", "error"]);
    assertEquals((answers[4].error as Json).code, "queue_full");
  } finally {
    await client.close();
    await svc.close();
  }
});
