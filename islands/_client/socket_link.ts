/**
 * Browser side: the dashboard's connection to `/ws`, either through the socket
 * worker (`islands/_client/socket_worker.ts`) or directly.
 *
 * Through the worker, the thousands of frames a busy engine sends each second
 * are received and parsed off the main thread and arrive as one batch every
 * few milliseconds, latest snapshot per task, so the page's main thread stays
 * free to paint. Without a worker (not built, or not allowed), the page opens
 * the socket itself and does the same work.
 *
 * @module
 */

import type { TaskEvent, WorkerEvent } from "../../components/types.ts";

/** What a link reports. */
export interface LinkHandlers {
  open(): void;
  /** A message that is not an engine event (hello, subscribed, stats, resync, …). */
  message(data: Record<string, unknown>): void;
  /** Engine events, the latest per task, and the highest `seq` among them. */
  events(tasks: TaskEvent[], workers: WorkerEvent[], seq: number): void;
  close(): void;
}

/** One connection to `/ws`. */
export interface Link {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** Messages the worker posts to the page. */
export type FromWorker =
  | { kind: "open"; id: number }
  | { kind: "message"; id: number; data: Record<string, unknown> }
  | { kind: "events"; id: number; tasks: TaskEvent[]; workers: WorkerEvent[]; seq: number }
  | { kind: "close"; id: number };

/** Messages the page posts to the worker. */
export type ToWorker =
  | { kind: "connect"; id: number; url: string; protocols: string[] }
  | { kind: "send"; id: number; text: string }
  | { kind: "close"; id: number; code: number; reason: string };

/**
 * Reads one `/ws` frame (a batch frame's messages in order: the link asks
 * `?batch=1`) into `batch`: engine events are added; any other message goes
 * to `other` at once, after `flush` has delivered the events before it. A
 * frame that is not a JSON object in text, and a batch entry that is not an
 * object, is dropped. Returns whether events wait.
 */
export function readFrame(
  text: unknown,
  batch: EventBatch,
  flush: () => void,
  other: (data: Record<string, unknown>) => void,
): boolean {
  let data: Record<string, unknown> | null = null;
  try {
    if (typeof text === "string") data = JSON.parse(text);
  } catch {
    // Not JSON: dropped.
  }
  if (typeof data !== "object" || data === null) return batch.size > 0;
  const messages = data.type === "batch" && Array.isArray(data.messages) ? data.messages : [data];
  for (const message of messages) {
    if (typeof message !== "object" || message === null) continue;
    if (batch.add(message)) continue;
    flush();
    other(message);
  }
  return batch.size > 0;
}

/**
 * Collects engine events: the latest per task (in arrival order), worker
 * events in order, and the highest `seq`. Used on both sides of the worker.
 *
 * @example
 * ```ts ignore
 * const batch = new EventBatch();
 * batch.add({ type: "task.queued", seq: 1, at: 0, task });
 * const { tasks, workers, seq } = batch.take();
 * ```
 */
export class EventBatch {
  #tasks = new Map<string, TaskEvent>();
  #workers: WorkerEvent[] = [];
  #seq = 0;

  /** Adds a parsed message; `false` when it is not an engine event. */
  add(data: Record<string, unknown>): boolean {
    const type = String(data.type);
    if (type.startsWith("task.")) {
      const event = data as unknown as TaskEvent;
      this.#tasks.delete(event.task.id);
      this.#tasks.set(event.task.id, event);
    } else if (type.startsWith("worker.")) {
      this.#workers.push(data as unknown as WorkerEvent);
    } else {
      return false;
    }
    if (typeof data.seq === "number" && data.seq > this.#seq) this.#seq = data.seq;
    return true;
  }

  get size(): number {
    return this.#tasks.size + this.#workers.length;
  }

  /** Empties the batch and returns what it held. */
  take(): { tasks: TaskEvent[]; workers: WorkerEvent[]; seq: number } {
    const taken = { tasks: [...this.#tasks.values()], workers: this.#workers, seq: this.#seq };
    this.#tasks.clear();
    this.#workers = [];
    this.#seq = 0;
    return taken;
  }
}

let worker: Worker | null = null;
let workerFailed = false;
let nextId = 1;
const routes = new Map<number, LinkHandlers>();

/** The socket worker's bundle URL, written into the page by the server. */
function workerUrl(): string | null {
  if (workerFailed || typeof Worker === "undefined") return null;
  return document.querySelector<HTMLMetaElement>('meta[name="tf-entry:socket-worker"]')?.content ??
    null;
}

/**
 * Opens a connection to `url`, through the socket worker when the page has
 * one, otherwise directly.
 *
 * @example
 * ```ts ignore
 * const link = openLink("ws://127.0.0.1:8081/ws", ["threadflow"], handlers);
 * link.send(JSON.stringify({ type: "subscribe" }));
 * ```
 */
export function openLink(url: string, protocols: string[], handlers: LinkHandlers): Link {
  const script = workerUrl();
  if (script) {
    try {
      return openThroughWorker(script, url, protocols, handlers);
    } catch {
      workerFailed = true;
    }
  }
  return openDirect(url, protocols, handlers);
}

function openThroughWorker(
  script: string,
  url: string,
  protocols: string[],
  handlers: LinkHandlers,
): Link {
  if (!worker) {
    worker = new Worker(script, { type: "module", name: "threadflow-socket" });
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      const route = routes.get(message.id);
      if (!route) return;
      if (message.kind === "open") route.open();
      else if (message.kind === "message") route.message(message.data);
      else if (message.kind === "events") route.events(message.tasks, message.workers, message.seq);
      else {
        routes.delete(message.id);
        route.close();
      }
    };
    worker.onerror = (event) => {
      // The worker could not start (blocked or missing): go direct from now on.
      event.preventDefault();
      workerFailed = true;
      worker?.terminate();
      worker = null;
      const open = [...routes.values()];
      routes.clear();
      for (const route of open) route.close();
    };
  }
  const id = nextId++;
  const post = (message: ToWorker) => worker?.postMessage(message);
  routes.set(id, handlers);
  post({ kind: "connect", id, url, protocols });
  return {
    send: (text) => post({ kind: "send", id, text }),
    close: (code, reason) => post({ kind: "close", id, code, reason }),
  };
}

function openDirect(url: string, protocols: string[], handlers: LinkHandlers): Link {
  const ws = new WebSocket(url, protocols);
  const batch = new EventBatch();
  const deliver = () => {
    if (batch.size === 0) return;
    const { tasks, workers, seq } = batch.take();
    handlers.events(tasks, workers, seq);
  };
  ws.onopen = () => handlers.open();
  ws.onmessage = (message) => {
    readFrame(message.data, batch, deliver, handlers.message);
    deliver();
  };
  ws.onclose = () => handlers.close();
  return {
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason),
  };
}
