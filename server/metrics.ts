/**
 * Prometheus metrics: the `/metrics` document, with engine and WebSocket
 * figures read when it is scraped. The counters the service keeps between
 * scrapes live beside it: HTTP requests in `http_metrics.ts`, tasks and
 * schedule ticks in `task_counters.ts`.
 *
 * @module
 */

import type { WorkerInfo } from "../engine/mod.ts";
import type { EngineStats, HistogramSnapshot } from "./engine_port.ts";
import type { HttpMetrics } from "./http_metrics.ts";
import { type ProcessFigures, processMetricLines } from "./process_metrics.ts";
import { histogramLines, labels } from "./prometheus_text.ts";
import type { TaskCounters } from "./task_counters.ts";

// The service and its routes import the counters from here, beside the document they feed.
export { HttpMetrics, methodLabel } from "./http_metrics.ts";
export { TaskCounters } from "./task_counters.ts";

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

/** An engine histogram, kept in milliseconds, as Prometheus lines in seconds. */
function engineHistogram(name: string, histogram: HistogramSnapshot): string[] {
  return histogramLines(
    name,
    histogram.bounds.map((bound) => bound / 1000),
    histogram.counts,
    histogram.sum / 1000,
    histogram.count,
  );
}
