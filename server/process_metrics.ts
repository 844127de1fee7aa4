/**
 * The standard `process_*` metrics every Prometheus client library exports:
 * start time, resident memory, CPU seconds and open file descriptors.
 *
 * @module
 */

import process from "node:process";

/** The process figures read for one scrape; a figure this process may not read is absent. */
export interface ProcessFigures {
  /** Unix time the process started, in seconds. */
  startTimeSeconds: number;
  residentMemoryBytes: number;
  /** User and system CPU time, in seconds. */
  cpuSecondsTotal: number;
  /** The main JavaScript heap in use, and its size, bytes (workers' heaps are their own). */
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Open file descriptors; needs read access to `/proc` (Deno grants it only with `-A`). */
  openFds?: number;
  /** The limit on open file descriptors; needs read access to `/proc` too. */
  maxFds?: number;
}

/**
 * Reads the process figures. Start time, memory and CPU need no permission;
 * file descriptors are counted from `/proc/self` on Linux when the process may
 * read it, and left out otherwise (Deno refuses `/proc` without `--allow-all`).
 *
 * @example
 * ```ts
 * import { readProcessFigures } from "./process_metrics.ts";
 * const figures = await readProcessFigures();
 * console.log(figures.residentMemoryBytes);
 * ```
 */
export async function readProcessFigures(): Promise<ProcessFigures> {
  const cpu = process.cpuUsage();
  const memory = Deno.memoryUsage();
  const figures: ProcessFigures = {
    startTimeSeconds: performance.timeOrigin / 1000,
    residentMemoryBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    cpuSecondsTotal: (cpu.user + cpu.system) / 1e6,
  };
  const openFds = await countOpenFds();
  if (openFds !== undefined) figures.openFds = openFds;
  const maxFds = await readMaxFds();
  if (maxFds !== undefined) figures.maxFds = maxFds;
  return figures;
}

/**
 * The figures as Prometheus text lines, with `HELP` and `TYPE`.
 *
 * @example
 * ```ts
 * import { processMetricLines, readProcessFigures } from "./process_metrics.ts";
 * console.log(processMetricLines(await readProcessFigures()).join("\n"));
 * ```
 */
export function processMetricLines(figures: ProcessFigures): string[] {
  const lines = [
    "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
    "# TYPE process_start_time_seconds gauge",
    `process_start_time_seconds ${figures.startTimeSeconds}`,
    "# HELP process_resident_memory_bytes Resident memory size in bytes.",
    "# TYPE process_resident_memory_bytes gauge",
    `process_resident_memory_bytes ${figures.residentMemoryBytes}`,
    "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
    "# TYPE process_cpu_seconds_total counter",
    `process_cpu_seconds_total ${figures.cpuSecondsTotal}`,
    "# HELP threadflow_heap_used_bytes JavaScript heap in use on the service's main thread.",
    "# TYPE threadflow_heap_used_bytes gauge",
    `threadflow_heap_used_bytes ${figures.heapUsedBytes}`,
    "# HELP threadflow_heap_total_bytes JavaScript heap size of the service's main thread.",
    "# TYPE threadflow_heap_total_bytes gauge",
    `threadflow_heap_total_bytes ${figures.heapTotalBytes}`,
  ];
  if (figures.openFds !== undefined) {
    lines.push(
      "# HELP process_open_fds Number of open file descriptors.",
      "# TYPE process_open_fds gauge",
      `process_open_fds ${figures.openFds}`,
    );
  }
  if (figures.maxFds !== undefined) {
    lines.push(
      "# HELP process_max_fds Maximum number of open file descriptors.",
      "# TYPE process_max_fds gauge",
      `process_max_fds ${figures.maxFds}`,
    );
  }
  return lines;
}

async function countOpenFds(): Promise<number | undefined> {
  if (Deno.build.os !== "linux") return undefined;
  try {
    let count = 0;
    for await (const _ of Deno.readDir("/proc/self/fd")) count++;
    // Reading the folder held one descriptor of its own.
    return Math.max(0, count - 1);
  } catch {
    return undefined;
  }
}

async function readMaxFds(): Promise<number | undefined> {
  if (Deno.build.os !== "linux") return undefined;
  try {
    const limits = await Deno.readTextFile("/proc/self/limits");
    const line = limits.split("\n").find((row) => row.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    const max = Number(soft);
    return Number.isSafeInteger(max) ? max : undefined;
  } catch {
    return undefined;
  }
}
