/**
 * WebSocket load for the HTTP benchmark, run in a module worker so the
 * clients do not share the server's thread.
 *
 * Messages in: `{ mode: "pipeline", url, total, window }` — one client keeps
 * `window` submits outstanding, each answered by its `task.succeeded` (a
 * `url` with `?batch=1` gets batch frames, unwrapped here); or
 * `{ mode: "fanout", url, clients, expected }` — `clients` subscribers count
 * terminal events until each saw `expected` (posts `{ ready }` once all are
 * subscribed, then the result).
 *
 * @module
 */

/** What the pipeline mode reports. */
export interface PipelineResult {
  tasks: number;
  seconds: number;
  /** Submit → task.succeeded, ms, one per task. */
  roundTrips: number[];
}

/** What the fan-out mode reports. */
export interface FanoutResult {
  clients: number;
  /** Terminal events each client received. */
  terminalPerClient: number[];
  /** All events (any type) received by all clients. */
  totalEvents: number;
  seconds: number;
}

const scope = self as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

const TERMINAL = new Set(["task.succeeded", "task.failed", "task.cancelled"]);

/** Resolved when the benchmark says to stop waiting and report what was seen. */
const stopped = Promise.withResolvers<void>();

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.onopen = () => resolve(socket);
    socket.onerror = () => reject(new Error(`Could not connect to ${url}.`));
  });
}

async function pipeline(url: string, total: number, window: number): Promise<PipelineResult> {
  const socket = await open(url);
  const sentAt = new Map<string, number>();
  const idToRef = new Map<string, string>();
  const roundTrips: number[] = [];
  const finished = Promise.withResolvers<void>();
  let sent = 0;
  let done = 0;
  const sendOne = () => {
    const ref = String(sent++);
    sentAt.set(ref, performance.now());
    socket.send(
      `{"type":"submit","ref":"${ref}","task":{"type":"noop","payload":${sent}}}`,
    );
  };
  // A task may end before its ack arrives, so both orders are handled.
  const endedBeforeAck = new Set<string>();
  const complete = (ref: string) => {
    roundTrips.push(performance.now() - sentAt.get(ref)!);
    sentAt.delete(ref);
    done++;
    if (sent < total) sendOne();
    if (done === total) finished.resolve();
  };
  const handle = (
    message: { type: string; ref: string; task: { id: string }; error?: unknown },
  ) => {
    if (message.type === "ack") {
      const id = message.task.id;
      if (endedBeforeAck.delete(id)) complete(message.ref);
      else idToRef.set(id, message.ref);
    } else if (TERMINAL.has(message.type)) {
      const ref = idToRef.get(message.task.id);
      if (ref === undefined) endedBeforeAck.add(message.task.id);
      else {
        idToRef.delete(message.task.id);
        complete(ref);
      }
    } else if (message.type === "error") {
      finished.reject(new Error(`Submit failed: ${JSON.stringify(message.error)}`));
    }
  };
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    // With ?batch=1 a frame may carry several messages.
    if (frame.type === "batch") { for (const message of frame.messages) handle(message); }
    else handle(frame);
  };
  socket.send(
    JSON.stringify({
      type: "subscribe",
      filter: { statuses: ["succeeded", "failed", "cancelled"] },
    }),
  );
  const started = performance.now();
  for (let i = 0; i < Math.min(window, total); i++) sendOne();
  await finished.promise;
  const seconds = (performance.now() - started) / 1000;
  socket.close();
  return { tasks: total, seconds, roundTrips };
}

async function fanout(url: string, clients: number, expected: number): Promise<FanoutResult> {
  const sockets = await Promise.all(Array.from({ length: clients }, () => open(url)));
  const terminal = new Array<number>(clients).fill(0);
  let totalEvents = 0;
  let complete = 0;
  let started = 0;
  const finished = Promise.withResolvers<void>();
  const subscribed = Promise.withResolvers<void>();
  let subscribedCount = 0;
  sockets.forEach((socket, i) => {
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "subscribed") {
        if (++subscribedCount === clients) subscribed.resolve();
        return;
      }
      if (typeof message.seq !== "number" || message.type === "hello") return;
      if (started === 0) started = performance.now();
      totalEvents++;
      if (TERMINAL.has(message.type) && ++terminal[i] === expected) {
        if (++complete === clients) finished.resolve();
      }
    };
    socket.send(JSON.stringify({ type: "subscribe" }));
  });
  await subscribed.promise;
  scope.postMessage({ ready: true });
  await Promise.race([finished.promise, stopped.promise]);
  const seconds = (performance.now() - started) / 1000;
  for (const socket of sockets) socket.close();
  return { clients, terminalPerClient: terminal, totalEvents, seconds };
}

scope.onmessage = async (event: MessageEvent) => {
  const request = event.data;
  if (request.stop) {
    stopped.resolve();
    return;
  }
  try {
    const result = request.mode === "pipeline"
      ? await pipeline(request.url, request.total, request.window)
      : await fanout(request.url, request.clients, request.expected);
    scope.postMessage({ result });
  } catch (error) {
    scope.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};
