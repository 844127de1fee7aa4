import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Outbox, type OutboxSocket } from "../../server/ws_outbox.ts";

class FakeSocket implements OutboxSocket {
  bufferedAmount = 0;
  readyState = 1;
  sent: (string | Uint8Array)[] = [];
  closedWith: [number | undefined, string | undefined] | undefined;
  send(data: string | Uint8Array): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
    this.readyState = 3;
  }
}

Deno.test("Outbox sends at once while the client keeps up", () => {
  const socket = new FakeSocket();
  const outbox = new Outbox(socket, { highWaterBytes: 100 });
  outbox.push("a");
  outbox.push("b", "progress", "t1");
  assertEquals(socket.sent, ["a", "b"]);
  assertEquals(outbox.slow, false);
  outbox.dispose();
});

Deno.test("Outbox coalesces progress while slow, keeps every other frame in order", () => {
  const socket = new FakeSocket();
  const outbox = new Outbox(socket, { highWaterBytes: 100, lowWaterBytes: 10, checkMs: 60_000 });
  socket.bufferedAmount = 500;
  outbox.push("started t1", "other", "t1");
  outbox.push("progress t1 10%", "progress", "t1");
  outbox.push("progress t2 10%", "progress", "t2");
  outbox.push("progress t1 50%", "progress", "t1");
  outbox.push("progress t2 90%", "progress", "t2");
  outbox.push("succeeded t2", "other", "t2");
  outbox.push("progress t1 80%", "progress", "t1");
  assertEquals(socket.sent, []);
  assert(outbox.slow);
  assertEquals(outbox.coalesced, 3);
  socket.bufferedAmount = 0;
  outbox.check();
  // t2's stale progress is dropped once its terminal event is held; t1 keeps its latest.
  assertEquals(socket.sent, ["started t1", "succeeded t2", "progress t1 80%"]);
  assertEquals(outbox.slow, false);
  outbox.dispose();
});

Deno.test("Outbox closes a client stuck past stuckMs with 1013", () => {
  const socket = new FakeSocket();
  let stuck = 0;
  const outbox = new Outbox(
    socket,
    { highWaterBytes: 100, stuckMs: 1000, checkMs: 60_000 },
    () => stuck++,
  );
  socket.bufferedAmount = 500;
  outbox.push("succeeded t1", "other", "t1");
  outbox.check(Date.now() + 500);
  assertEquals(socket.closedWith, undefined);
  outbox.check(Date.now() + 1500);
  assertEquals(socket.closedWith?.[0], 1013);
  assertEquals(stuck, 1);
  assertEquals(outbox.held, 0);
});

Deno.test("Outbox closes a client that makes it hold more than maxHeld frames", () => {
  const socket = new FakeSocket();
  const outbox = new Outbox(socket, { highWaterBytes: 100, maxHeld: 3, checkMs: 60_000 });
  socket.bufferedAmount = 500;
  for (let i = 0; i < 3; i++) outbox.push(`event ${i}`);
  assertEquals(socket.closedWith, undefined);
  outbox.push("event 3");
  assertEquals(socket.closedWith?.[0], 1013);
});

Deno.test("Outbox keeps a slow but steadily reading client, sending held frames as it drains", () => {
  const socket = new FakeSocket();
  const outbox = new Outbox(socket, {
    highWaterBytes: 100,
    lowWaterBytes: 50,
    stuckMs: 1000,
    checkMs: 60_000,
  });
  socket.send = function (data) {
    this.sent.push(data);
    this.bufferedAmount += data.length;
  };
  socket.bufferedAmount = 500;
  for (let i = 0; i < 10; i++) outbox.push(`event-${i}`.padEnd(40, "."));
  const start = Date.now();
  // The client reads a little on every check, for far longer than stuckMs.
  for (let tick = 1; tick <= 40; tick++) {
    socket.bufferedAmount = Math.max(0, socket.bufferedAmount - 60);
    outbox.check(start + tick * 200);
  }
  assertEquals(socket.closedWith, undefined);
  assertEquals(socket.sent.length, 10);
  assertEquals(socket.sent[0], "event-0".padEnd(40, "."));
  assertEquals(outbox.slow, false);
});

Deno.test("Outbox sends held frames only up to the high-water mark at a time", () => {
  const socket = new FakeSocket();
  const outbox = new Outbox(socket, { highWaterBytes: 100, lowWaterBytes: 10, checkMs: 60_000 });
  socket.send = function (data) {
    this.sent.push(data);
    this.bufferedAmount += data.length;
  };
  socket.bufferedAmount = 500;
  for (let i = 0; i < 10; i++) outbox.push("x".repeat(30));
  socket.bufferedAmount = 0;
  outbox.check();
  // 30, 60, 90, 120: the fourth send crosses the mark; the rest stay held.
  assertEquals(socket.sent.length, 4);
  assertEquals(outbox.held, 6);
  assert(outbox.slow);
  outbox.dispose();
});

Deno.test("Outbox with batch: one turn's frames go as one batch frame; a frame alone goes plain", async () => {
  const socket = new FakeSocket();
  const outbox = new Outbox(socket, { batch: true });
  outbox.push('{"type":"ack","ref":1}');
  outbox.push('{"type":"ack","ref":2}');
  assertEquals(socket.sent, [], "held until the end of the turn");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(socket.sent, [
    '{"type":"batch","messages":[{"type":"ack","ref":1},{"type":"ack","ref":2}]}',
  ]);
  outbox.push('{"type":"pong"}');
  outbox.flush();
  assertEquals(socket.sent.at(-1), '{"type":"pong"}');
  outbox.dispose();
});

Deno.test("Outbox with batch: a close sends what the turn said first; a slow client is held frame by frame", () => {
  const socket = new FakeSocket();
  const outbox = new Outbox(socket, { batch: true, highWaterBytes: 100, checkMs: 60_000 });
  outbox.push('{"type":"error"}');
  outbox.push('{"type":"error"}');
  outbox.dispose();
  assertEquals(socket.sent.length, 1, "sent as one batch before closing");

  const slowSocket = new FakeSocket();
  const slow = new Outbox(slowSocket, {
    batch: true,
    highWaterBytes: 100,
    lowWaterBytes: 10,
    checkMs: 60_000,
  });
  slowSocket.bufferedAmount = 500;
  slow.push("progress t1 10%", "progress", "t1");
  slow.push("progress t1 50%", "progress", "t1");
  slow.flush();
  assert(slow.slow);
  assertEquals(slow.coalesced, 1, "progress coalesces as without batch");
  slowSocket.bufferedAmount = 0;
  slow.check();
  assertEquals(slowSocket.sent, ["progress t1 50%"]);
  slow.dispose();
});
