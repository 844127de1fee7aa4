/**
 * Browser side: the dashboard's one connection to `/ws` (see `socket_link.ts`)
 * and the live state every island shares (signals). Events are queued as they
 * arrive and applied once per animation frame, latest snapshot per task, so a
 * burst of thousands of events costs one render.
 *
 * @module
 */

import { batch, signal } from "@preact/signals";
import { api, authRequired, getToken } from "./api.ts";
import { type Link, openLink } from "./socket_link.ts";
import { applyWorkerUpdates } from "./worker_updates.ts";
import type {
  DashboardStats,
  ScheduleEvent,
  TaskEvent,
  TypeControlView,
  WorkerInfo,
} from "../../components/types.ts";

/** State of the live connection, as the indicator shows it. */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "unauthorized";

/** Connection state. */
export const connection = signal<ConnectionState>("connecting");
/** Latest stats snapshot (from the server's periodic `stats` messages), or `null` before one. */
export const stats = signal<DashboardStats | null>(null);
/** Browser time (ms since epoch) the figures shown were current: the last stats message. */
export const statsAt = signal<number | null>(null);
/** Id of the node this page talks to, from the server's `hello` (it changes after a restart). */
export const serverNode = signal<string | null>(null);
/** Browser time, ms since epoch, ticking once a second while the page is live. */
export const clock = signal(Date.now());
/** Worker slots, kept current from worker and task events. */
export const workers = signal<WorkerInfo[] | null>(null);
/** Grows by one whenever the client lost events and views should reload from HTTP. */
export const resyncCount = signal(0);
/** Delay before the next reconnect attempt, in ms (0 when connected). */
export const retryInMs = signal(0);

/** Receives the task events of one animation frame: the latest event per task, in order. */
export type TaskEventsListener = (events: TaskEvent[]) => void;

const taskListeners = new Set<TaskEventsListener>();
const pendingTasks = new Map<string, TaskEvent>();
const pendingWorkers: WorkerInfo[] = [];
let flushScheduled = false;
let socket: Link | null = null;
let started = false;
let lastSeq: number | null = null;
let attempt = 0;
let everLive = false;
let workerRefreshTimer: ReturnType<typeof setInterval> | undefined;
const statsListeners = new Set<() => void>();
const typeListeners = new Set<(control: TypeControlView) => void>();

/**
 * Calls `listener` with a type's control each time one is paused, resumed or
 * its limits change (`type.*` events, from any node). Returns a function that
 * stops it.
 *
 * @example
 * ```ts ignore
 * const stop = onTypeControl((control) => console.log(control.type, control.paused));
 * ```
 */
export function onTypeControl(listener: (control: TypeControlView) => void): () => void {
  typeListeners.add(listener);
  return () => typeListeners.delete(listener);
}

const scheduleListeners = new Set<(event: ScheduleEvent) => void>();

/**
 * Calls `listener` with each schedule event (`schedule.created`, `.fired`…)
 * as it arrives. Returns a function that stops it.
 *
 * @example
 * ```ts ignore
 * const stop = onScheduleEvent((event) => console.log(event.type, event.name));
 * ```
 */
export function onScheduleEvent(listener: (event: ScheduleEvent) => void): () => void {
  scheduleListeners.add(listener);
  return () => scheduleListeners.delete(listener);
}

/**
 * Calls `listener` once per frame with the task events that arrived. Returns
 * a function that stops it.
 *
 * @example
 * ```ts ignore
 * const stop = onTaskEvents((events) => console.log(events.length));
 * ```
 */
export function onTaskEvents(listener: TaskEventsListener): () => void {
  taskListeners.add(listener);
  return () => taskListeners.delete(listener);
}

/**
 * Calls `listener` after each stats message (about once a second while live).
 * Returns a function that stops it.
 *
 * @example
 * ```ts ignore
 * const stop = onStats(() => void refreshChart());
 * ```
 */
export function onStats(listener: () => void): () => void {
  statsListeners.add(listener);
  return () => statsListeners.delete(listener);
}

/**
 * Seeds the shared state with what the server rendered, so islands hydrate
 * with the same data before the first live message. The figures count as
 * current at hydration: the page was rendered a moment before.
 *
 * @example
 * ```ts ignore
 * useEffect(() => seed({ stats: props.stats }), []);
 * ```
 */
export function seed(initial: { stats?: DashboardStats; workers?: WorkerInfo[] }): void {
  if (initial.stats && !stats.peek()) {
    stats.value = initial.stats;
    statsAt.value ??= Date.now();
    serverNode.value ??= initial.stats.nodeId;
  }
  if (initial.workers && !workers.peek()) workers.value = initial.workers;
}

/**
 * Whether figures last current at `at` are stale at `now`: the page is not
 * live and they are older than two seconds (a first connection takes less).
 *
 * @example
 * ```ts ignore
 * isStale("reconnecting", 1_000, 5_000); // true
 * ```
 */
export function isStale(state: ConnectionState, at: number | null, now: number): boolean {
  return state !== "live" && at !== null && now - at >= 2000;
}

/**
 * Opens the live connection once per page; later calls do nothing.
 *
 * @example
 * ```ts ignore
 * useEffect(() => startLive(), []);
 * ```
 */
export function startLive(): void {
  if (started || typeof WebSocket === "undefined") return;
  started = true;
  clock.value = Date.now();
  setInterval(() => clock.value = Date.now(), 1000);
  connect();
  globalThis.addEventListener("online", () => {
    if (!socket) connect();
  });
}

/**
 * Reconnects now (after a token was entered, or when the user asks).
 *
 * @example
 * ```tsx ignore
 * <button onClick={() => reconnectNow()}>Retry now</button>
 * ```
 */
export function reconnectNow(): void {
  if (socket) socket.close(4000, "reconnect requested");
  else connect();
}

/** Opens the link to `/ws`. Actions (submit, cancel) go through HTTP, for their errors. */
function connect(): void {
  clearTimeout(retryTimer);
  retryInMs.value = 0;
  if (connection.peek() !== "live" && attempt === 0) connection.value = "connecting";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const token = getToken();
  // The token goes in the protocol list (not logged like a URL) when it is a valid protocol name.
  const asProtocol = token !== null && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(token);
  // Batch frames: a server turn's events in one frame, one write for the server and one parse here.
  const query = token && !asProtocol ? `?batch=1&token=${encodeURIComponent(token)}` : "?batch=1";
  const protocols = asProtocol ? ["threadflow", `token.${token}`] : ["threadflow"];
  let opened = false;
  const link: Link = openLink(`${scheme}//${location.host}/ws${query}`, protocols, {
    open() {
      opened = true;
    },
    message(data) {
      if (socket !== link) return;
      if (data.type === "hello") onHello(link, String(data.nodeId));
      else handleMessage(data);
    },
    events(tasks, workerEvents, seq) {
      if (socket !== link) return;
      if (seq > 0) lastSeq = Math.max(lastSeq ?? 0, seq);
      for (const event of tasks) {
        pendingTasks.delete(event.task.id);
        pendingTasks.set(event.task.id, event);
      }
      for (const event of workerEvents) pendingWorkers.push(event.worker);
      scheduleFlush();
    },
    close() {
      if (socket !== link) return;
      socket = null;
      clearInterval(workerRefreshTimer);
      if (!opened) {
        // Closed before it opened: the server may be down, or our token refused.
        api("/api/stats").catch(() => undefined).finally(scheduleReconnect);
      } else {
        scheduleReconnect();
      }
    },
  });
  socket = link;
}

let retryTimer: ReturnType<typeof setTimeout> | undefined;

/** Subscribes once the server said hello; a different node (a restart) means a fresh start. */
function onHello(link: Link, nodeId: string): void {
  if (serverNode.peek() !== null && serverNode.peek() !== nodeId) lastSeq = null;
  serverNode.value = nodeId;
  const subscribe: Record<string, unknown> = {
    type: "subscribe",
    ref: "live",
    stats: { intervalMs: 1000 },
  };
  if (lastSeq !== null) subscribe.since = lastSeq;
  link.send(JSON.stringify(subscribe));
}

function scheduleReconnect(): void {
  if (authRequired.peek()) {
    connection.value = "unauthorized";
    return;
  }
  connection.value = "reconnecting";
  const delay = backoffDelay(attempt++);
  retryInMs.value = delay;
  retryTimer = setTimeout(connect, delay);
}

/**
 * Delay before reconnect attempt `attempt` (from 0): 500 ms doubling to at
 * most 10 s, with up to 20% jitter so many tabs do not return at once.
 *
 * @example
 * ```ts ignore
 * backoffDelay(3, () => 1); // 4000
 * ```
 */
export function backoffDelay(attempt: number, random = Math.random): number {
  const base = Math.min(10_000, 500 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.8 + 0.2 * random()));
}

function handleMessage(data: Record<string, unknown>): void {
  switch (data.type) {
    case "subscribed": {
      // Any connection after the first may have missed state: reload it from HTTP.
      const again = everLive;
      everLive = true;
      attempt = 0;
      connection.value = "live";
      retryInMs.value = 0;
      if (lastSeq === null) lastSeq = Number(data.seq);
      if (again) void resync();
      clearInterval(workerRefreshTimer);
      // Worker state is also kept from events; a slow refresh corrects any drift.
      workerRefreshTimer = setInterval(refreshWorkers, 5000);
      return;
    }
    case "resync":
      lastSeq = Number(data.seq);
      void resync();
      return;
    case "stats":
      applyStats(data.stats as DashboardStats);
      return;
    case "type.paused":
    case "type.resumed":
    case "type.limits_changed":
      if (typeof data.seq === "number") lastSeq = Math.max(lastSeq ?? 0, data.seq);
      for (const listener of typeListeners) listener(data.control as TypeControlView);
      return;
    case "pong":
    case "ack":
    case "error":
    case "unsubscribed":
      return;
  }
  if (typeof data.type === "string" && data.type.startsWith("schedule.")) {
    for (const listener of scheduleListeners) listener(data as unknown as ScheduleEvent);
  }
}

function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  // A hidden tab gets no animation frames; the timer bounds the queue there.
  const timer = setTimeout(flush, 250);
  requestAnimationFrame(() => {
    clearTimeout(timer);
    flush();
  });
}

function flush(): void {
  if (!flushScheduled) return;
  flushScheduled = false;
  const events = [...pendingTasks.values()];
  pendingTasks.clear();
  const workerUpdates = pendingWorkers.splice(0);
  batch(() => {
    const current = workers.peek();
    if (current) {
      const next = applyWorkerUpdates(current, workerUpdates, events);
      if (next !== current) workers.value = next;
    }
    for (const listener of taskListeners) listener(events);
  });
}

function applyStats(snapshot: DashboardStats): void {
  batch(() => {
    stats.value = snapshot;
    statsAt.value = Date.now();
    clock.value = Date.now();
  });
  for (const listener of statsListeners) listener();
}

/**
 * Reads the worker slots again from `/api/workers`, for the figures events
 * do not carry (CPU, memory). Errors are left to the connection state.
 *
 * @example
 * ```ts ignore
 * const timer = setInterval(refreshWorkers, 5_000);
 * ```
 */
export async function refreshWorkers(): Promise<void> {
  try {
    const answer = await api<{ workers: WorkerInfo[] }>("/api/workers");
    workers.value = answer.workers;
  } catch {
    // The socket's own close handling reports a lost server.
  }
}

async function resync(): Promise<void> {
  try {
    const snapshot = await api<DashboardStats | { stats: DashboardStats }>("/api/stats");
    applyStats("stats" in snapshot ? snapshot.stats : snapshot);
  } catch {
    // Shown by the connection state.
  }
  await refreshWorkers();
  resyncCount.value++;
}
