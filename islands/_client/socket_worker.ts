/**
 * Browser side, in a dedicated worker: receives the `/ws` frames (batch
 * frames: one per server turn), parses them, and posts engine events to the
 * page in batches (latest snapshot per task) at most every
 * {@linkcode BATCH_MS} ms. Other messages are posted at once, after the
 * events before them, so order is kept.
 *
 * @module
 */

import { EventBatch, type FromWorker, readFrame, type ToWorker } from "./socket_link.ts";

/** Longest time an event waits in the worker before it is posted. */
export const BATCH_MS = 16;

interface Scope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}

const scope = globalThis as unknown as Scope;
let socket: WebSocket | null = null;
let current = 0;
const batch = new EventBatch();
let timer: ReturnType<typeof setTimeout> | undefined;

function flush(id: number): void {
  clearTimeout(timer);
  timer = undefined;
  if (batch.size === 0) return;
  scope.postMessage({ kind: "events", id, ...batch.take() });
}

function connect(id: number, url: string, protocols: string[]): void {
  if (socket) {
    flush(current);
    socket.close(4000, "Replaced by a new connection.");
  }
  current = id;
  const ws = new WebSocket(url, protocols);
  socket = ws;
  ws.onopen = () => scope.postMessage({ kind: "open", id });
  ws.onmessage = (message) => {
    if (socket !== ws) return;
    const waiting = readFrame(
      message.data,
      batch,
      () => flush(id),
      (data) => scope.postMessage({ kind: "message", id, data }),
    );
    if (waiting) timer ??= setTimeout(() => flush(id), BATCH_MS);
  };
  ws.onclose = () => {
    if (socket === ws) {
      flush(id);
      socket = null;
    }
    scope.postMessage({ kind: "close", id });
  };
}

scope.onmessage = (event) => {
  const message = event.data;
  if (message.kind === "connect") connect(message.id, message.url, message.protocols);
  else if (message.id !== current || !socket) return;
  else if (message.kind === "send") socket.send(message.text);
  else socket.close(message.code, message.reason);
};
