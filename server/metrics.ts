/**
 * Prometheus metrics: HTTP request counters kept by the service, and engine
 * and WebSocket figures read when `/metrics` is scraped.
 *
 * @module
 */

import {
  TASK_STATUSES,
  type TaskStatus,
  TERMINAL_STATUSES,
  type ThreadFlowEvent,
} from "../engine/mod.ts";
import type { WorkerInfo } from "../engine/mod.ts";
import type { EngineStats, HistogramSnapshot } from "./engine_port.ts";
import { type ProcessFigures, processMetricLines } from "./process_metrics.ts";

/** Upper bounds of the HTTP duration histogram, in seconds. */
const HTTP_BOUNDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods counted under their own name; any other is counted as `OTHER`. */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "CONNECT",
  "TRACE",
]);

/**
 * The `method` label of a request: the method itself when it is one of
 * RFC 9110's (and PATCH), else `OTHER`, so made-up methods cannot create
 * series without end.
 *
 * @example
 * ```ts
 * import { methodLabel } from "./metrics.ts";
 * methodLabel("GET"); // "GET"
 * methodLabel("FOO"); // "OTHER"
 * ```
 */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : "OTHER";
}

interface RouteCounter {
  method: string;
  route: string;
  status: number;
  count: number;
}

/**
 * Counts HTTP requests by method, route pattern and status, and their
 * durations in one histogram.
 *
 * @example
 * ```ts
 * import { HttpMetrics } from "./metrics.ts";
 * const metrics = new HttpMetrics();
 * metrics.record("GET", "/api/tasks/:id", 200, 1.5);
 * ```
 */
export class HttpMetrics {
  #counters = new Map<string, RouteCounter>();
  #buckets = new Array<number>(HTTP_BOUNDS.length + 1).fill(0);
  #sum = 0;
  #count = 0;

  /** Records one finished request; `durationMs` in milliseconds. */
  record(rawMethod: string, route: string, status: number, durationMs: number): void {
    const method = methodLabel(rawMethod);
    const key = `${method} ${status} ${route}`;
    const counter = this.#counters.get(key);
    if (counter) counter.count++;
    else this.#counters.set(key, { method, route, status, count: 1 });
    const seconds = durationMs / 1000;
    let bucket = 0;
    while (bucket < HTTP_BOUNDS.length && seconds > HTTP_BOUNDS[bucket]) bucket++;
    this.#buckets[bucket]++;
    this.#sum += seconds;
    this.#count++;
  }

  /** Requests counted so far for a route and status (for tests). */
  count(method: string, route: string, status: number): number {
    return this.#counters.get(`${methodLabel(method)} ${status} ${route}`)?.count ?? 0;
  }

  /** The metrics in Prometheus text format. */
  render(): string {
    const lines = [
      "# HELP threadflow_http_requests_total HTTP requests answered, by method, route and status.",
      "# TYPE threadflow_http_requests_total counter",
    ];
    for (const counter of this.#counters.values()) {
      lines.push(
        `threadflow_http_requests_total${
          labels({
            method: counter.method,
            route: counter.route,
            status: String(counter.status),
          })
        } ${counter.count}`,
      );
    }
    lines.push(
      "# HELP threadflow_http_request_duration_seconds Time to answer HTTP requests.",
      "# TYPE threadflow_http_request_duration_seconds histogram",
      ...histogramLines(
        "threadflow_http_request_duration_seconds",
        HTTP_BOUNDS,
        this.#buckets,
        this.#sum,
        this.#count,
      ),
    );
    return lines.join("\n") + "\n";
  }
}

/**
 * Counts tasks submitted (by type) and finished (by type and status) from
 * the engine's events, as counters for `rate()`. With a shared store every
 * node sees every node's events, so each node counts the whole cluster's tasks.
 *
 * @example
 * ```ts ignore
 * const counters = new TaskCounters(engine.taskTypes().map((t) => t.name));
 * engine.on((event) => counters.observe(event));
 * ```
 */
export class TaskCounters {
  #submitted = new Map<string, number>();
  #finished = new Map<string, Map<TaskStatus, number>>();
  /** Ticks this node fired or skipped, by schedule then outcome. */
  #ticks = new Map<string, { fired: number; skipped: number }>();
  #nodeId: string | undefined;
  #relayed: () => boolean;

  /**
   * Starts every known type's series at 0, so `rate()` sees their first
   * tasks. On a cluster every node sees every event, relayed: each counts
   * only its own, so the counters sum over nodes. `nodeId` is this node's
   * (schedule ticks are counted by the node that fired them); `relayed`
   * tells, while a listener runs, whether the event came from another node.
   */
  constructor(
    types: readonly string[] = [],
    options: { nodeId?: string; relayed?: () => boolean } = {},
  ) {
    for (const type of types) this.#typeSeries(type);
    this.#nodeId = options.nodeId;
    this.#relayed = options.relayed ?? (() => false);
  }

  /**
   * Counts a new task (`task.scheduled`, or `task.queued` of a task never
   * scheduled), every end, and each schedule tick this node fired or skipped.
   */
  observe(event: ThreadFlowEvent): void {
    if ("schedule" in event) {
      if (event.type !== "schedule.fired" && event.type !== "schedule.skipped") return;
      if (event.nodeId !== this.#nodeId) return;
      const ticks = this.#ticks.get(event.name) ?? { fired: 0, skipped: 0 };
      ticks[event.type === "schedule.fired" ? "fired" : "skipped"]++;
      this.#ticks.set(event.name, ticks);
      return;
    }
    if (!("task" in event) || this.#relayed()) return;
    const { task } = event;
    if (event.type === "task.scheduled" || event.type === "task.queued") {
      // A scheduled task coming due is queued too; only a task that never waited for its time
      // (runAt is its creation) enters the queue new. Retries are `task.retrying`.
      if (event.type === "task.scheduled" || task.runAt <= task.createdAt) {
        this.#typeSeries(task.type);
        this.#submitted.set(task.type, (this.#submitted.get(task.type) ?? 0) + 1);
      }
      return;
    }
    if (TERMINAL_STATUSES.has(task.status) && event.type === `task.${task.status}`) {
      const byStatus = this.#typeSeries(task.type);
      byStatus.set(task.status, (byStatus.get(task.status) ?? 0) + 1);
    }
  }

  /** Tasks of `type` submitted so far (for tests). */
  submitted(type: string): number {
    return this.#submitted.get(type) ?? 0;
  }

  /** Tasks of `type` that ended in `status` so far (for tests). */
  finished(type: string, status: TaskStatus): number {
    return this.#finished.get(type)?.get(status) ?? 0;
  }

  /** The counters in Prometheus text format. */
  lines(): string[] {
    const lines = [
      "# HELP threadflow_tasks_submitted_total Tasks submitted, by type.",
      "# TYPE threadflow_tasks_submitted_total counter",
    ];
    for (const [type, count] of this.#submitted) {
      lines.push(`threadflow_tasks_submitted_total${labels({ type })} ${count}`);
    }
    lines.push(
      "# HELP threadflow_tasks_finished_total Tasks that ended, by type and final status.",
      "# TYPE threadflow_tasks_finished_total counter",
    );
    for (const [type, byStatus] of this.#finished) {
      for (const [status, count] of byStatus) {
        lines.push(`threadflow_tasks_finished_total${labels({ type, status })} ${count}`);
      }
    }
    lines.push(
      "# HELP threadflow_schedule_ticks_total Schedule ticks this node fired (a task submitted) " +
        "or skipped (overlap skip), by schedule.",
      "# TYPE threadflow_schedule_ticks_total counter",
    );
    for (const [schedule, ticks] of this.#ticks) {
      for (const outcome of ["fired", "skipped"] as const) {
        lines.push(
          `threadflow_schedule_ticks_total${labels({ schedule, outcome })} ${ticks[outcome]}`,
        );
      }
    }
    return lines;
  }

  #typeSeries(type: string): Map<TaskStatus, number> {
    let byStatus = this.#finished.get(type);
    if (byStatus === undefined) {
      byStatus = new Map(
        TASK_STATUSES.filter((status) => TERMINAL_STATUSES.has(status)).map((
          status,
        ) => [status, 0]),
      );
      this.#finished.set(type, byStatus);
      if (!this.#submitted.has(type)) this.#submitted.set(type, 0);
    }
    return byStatus;
  }
}

/** Figures about WebSocket clients for `/metrics`. */
export interface WebSocketFigures {
  clients: number;
  closedSlow: number;
  malformed: number;
}

/** Everything besides the engine's stats that `/metrics` shows. */
export interface MetricSources {
  http: HttpMetrics;
  webSocket: WebSocketFigures;
  tasks: TaskCounters;
  process: ProcessFigures;
  /** Worker slots with their CPU and memory (`engine.workers()`); none when absent. */
  workers?: WorkerInfo[];
  /** Terminated worker threads still running. Default 0. */
  stuckThreads?: number;
  /** The service's open timers (see `timer_count.ts`), when counted. */
  openTimers?: number;
}

/**
 * Renders the engine's stats, task counters, HTTP metrics, WebSocket figures
 * and the process's figures as one Prometheus text document.
 *
 * @example
 * ```ts ignore
 * const text = renderMetrics(await engine.stats(), {
 *   http: httpMetrics,
 *   webSocket: hub.figures(),
 *   tasks: taskCounters,
 *   process: await readProcessFigures(),
 * });
 * ```
 */
export function renderMetrics(stats: EngineStats, sources: MetricSources): string {
  const { http, webSocket } = sources;
  const lines: string[] = [...sources.tasks.lines()];
  const gauge = (name: string, help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
  const counter = (name: string, help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);

  gauge("threadflow_tasks", "Tasks in the store, by status.");
  for (const [status, count] of Object.entries(stats.counts)) {
    lines.push(`threadflow_tasks${labels({ status })} ${count}`);
  }
  gauge("threadflow_queue_depth", "Queued tasks, by priority.");
  for (const [priority, count] of Object.entries(stats.queuedByPriority)) {
    lines.push(`threadflow_queue_depth${labels({ priority })} ${count}`);
  }
  gauge("threadflow_oldest_queued_age_seconds", "Age of the oldest queued task, by priority.");
  for (const [priority, age] of Object.entries(stats.oldestQueuedAgeMs)) {
    if (age !== null) {
      lines.push(`threadflow_oldest_queued_age_seconds${labels({ priority })} ${age / 1000}`);
    }
  }
  lines.push(
    "# HELP threadflow_task_wait_seconds Time tasks waited in the queue before they started.",
    "# TYPE threadflow_task_wait_seconds histogram",
    ...engineHistogram("threadflow_task_wait_seconds", stats.histograms.waitMs),
    "# HELP threadflow_task_run_seconds Time tasks ran.",
    "# TYPE threadflow_task_run_seconds histogram",
    ...engineHistogram("threadflow_task_run_seconds", stats.histograms.runMs),
  );
  gauge("threadflow_throughput_tasks_per_second", "Finished tasks per second, last 60 s.");
  lines.push(`threadflow_throughput_tasks_per_second ${stats.throughput.last60s}`);
  gauge("threadflow_workers", "Worker slots, by state.");
  lines.push(`threadflow_workers${labels({ state: "busy" })} ${stats.workers.busy}`);
  lines.push(`threadflow_workers${labels({ state: "idle" })} ${stats.workers.idle}`);
  counter("threadflow_worker_restarts_total", "Workers replaced after a crash or timeout.");
  lines.push(`threadflow_worker_restarts_total ${stats.workers.restarts}`);
  gauge(
    "threadflow_stuck_threads",
    "Terminated worker threads still running (each holds a core until the process exits).",
  );
  lines.push(`threadflow_stuck_threads ${sources.stuckThreads ?? 0}`);
  lines.push(...workerUsageLines(sources.workers ?? []));
  if (sources.openTimers !== undefined) {
    gauge("threadflow_open_timers", "Timers of the service not yet fired or cleared.");
    lines.push(`threadflow_open_timers ${sources.openTimers}`);
  }
  gauge("threadflow_uptime_seconds", "Seconds since the engine started.");
  lines.push(`threadflow_uptime_seconds ${stats.uptimeMs / 1000}`);
  gauge("threadflow_websocket_clients", "Open WebSocket connections.");
  lines.push(`threadflow_websocket_clients ${webSocket.clients}`);
  counter("threadflow_websocket_slow_closed_total", "WebSockets closed (1013) for being too slow.");
  lines.push(`threadflow_websocket_slow_closed_total ${webSocket.closedSlow}`);
  counter("threadflow_websocket_malformed_total", "Malformed WebSocket messages received.");
  lines.push(`threadflow_websocket_malformed_total ${webSocket.malformed}`);
  lines.push(...processMetricLines(sources.process));
  return lines.join("\n") + "\n" + http.render();
}

/** Per-worker CPU and memory, labelled by slot and isolation; unreadable figures are left out. */
function workerUsageLines(workers: WorkerInfo[]): string[] {
  const cpu: string[] = [];
  const memory: string[] = [];
  for (const worker of workers) {
    const label = labels({ worker: String(worker.id), isolation: worker.isolation ?? "thread" });
    if (typeof worker.cpuMs === "number") {
      cpu.push(`threadflow_worker_cpu_seconds_total${label} ${worker.cpuMs / 1000}`);
    }
    if (typeof worker.memoryBytes === "number") {
      memory.push(`threadflow_worker_resident_memory_bytes${label} ${worker.memoryBytes}`);
    }
  }
  const lines: string[] = [];
  if (cpu.length > 0) {
    lines.push(
      "# HELP threadflow_worker_cpu_seconds_total CPU time of each slot's current worker.",
      "# TYPE threadflow_worker_cpu_seconds_total counter",
      ...cpu,
    );
  }
  if (memory.length > 0) {
    lines.push(
      "# HELP threadflow_worker_resident_memory_bytes Resident memory of each worker process.",
      "# TYPE threadflow_worker_resident_memory_bytes gauge",
      ...memory,
    );
  }
  return lines;
}

function engineHistogram(name: string, histogram: HistogramSnapshot): string[] {
  return histogramLines(
    name,
    histogram.bounds.map((bound) => bound / 1000),
    histogram.counts,
    histogram.sum / 1000,
    histogram.count,
  );
}

/** Prometheus histogram lines from per-bucket (not cumulative) counts; the last is +Inf. */
function histogramLines(
  name: string,
  bounds: readonly number[],
  counts: readonly number[],
  sum: number,
  count: number,
): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += counts[i] ?? 0;
    lines.push(`${name}_bucket${labels({ le: String(bounds[i]) })} ${cumulative}`);
  }
  lines.push(`${name}_bucket${labels({ le: "+Inf" })} ${count}`);
  lines.push(`${name}_sum ${sum}`, `${name}_count ${count}`);
  return lines;
}

function labels(values: Record<string, string>): string {
  const parts = Object.entries(values).map(([key, value]) =>
    `${key}="${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
  );
  return `{${parts.join(",")}}`;
}
