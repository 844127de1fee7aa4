/**
 * Running statistics: wait and run time histograms (overall and per
 * priority) and finished tasks per second over the last minute.
 *
 * @module
 */

import { Histogram, type HistogramSnapshot, type LatencySummary } from "./histogram.ts";
import { TypeStatsRecorder } from "./type_stats.ts";
import type { WorkerInfo } from "../model/events.ts";
import type { StatusCounts } from "../model/task.ts";
import { MAX_PRIORITY, MIN_PRIORITY } from "../model/task.ts";

/** A snapshot of the engine, as `/api/stats` serves it. */
export interface EngineStats {
  nodeId: string;
  store: string;
  state: "running" | "draining" | "closed";
  uptimeMs: number;
  counts: StatusCounts;
  /** Tasks queued per priority level, keyed "1".."10". */
  queuedByPriority: Record<string, number>;
  /** Age of the oldest queued task per level, ms, keyed "1".."10"; `null` when none. */
  oldestQueuedAgeMs: Record<string, number | null>;
  /** Finished tasks per second: the last 60 seconds (oldest first) and their average. */
  throughput: { perSecond: number[]; last60s: number };
  /** Time from ready (queued) to started, ms. */
  waitMs: LatencySummary;
  /** Handler run time, ms. */
  runMs: LatencySummary;
  waitMsByPriority: Record<string, LatencySummary>;
  histograms: { waitMs: HistogramSnapshot; runMs: HistogramSnapshot };
  workers: { total: number; busy: number; idle: number; restarts: number };
}

/** Accumulates timings and throughput. */
export class StatsRecorder {
  readonly wait = new Histogram();
  readonly run = new Histogram();
  readonly waitByPriority: Histogram[] = [];
  /** Run times, outcomes and the last error of each task type over the last hour. */
  readonly byType = new TypeStatsRecorder();
  #perSecond = new Array<number>(60).fill(0);
  #second = Math.floor(Date.now() / 1000);

  constructor() {
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) this.waitByPriority.push(new Histogram());
  }

  recordWait(priority: number, ms: number): void {
    this.wait.record(ms);
    this.waitByPriority[priority - MIN_PRIORITY].record(ms);
  }

  recordFinished(now: number): void {
    this.#advance(now);
    this.#perSecond[this.#second % 60]++;
  }

  /** The last 60 one-second buckets, oldest first, and their average. */
  throughput(now: number): { perSecond: number[]; last60s: number } {
    this.#advance(now);
    const perSecond: number[] = [];
    for (let i = 59; i >= 0; i--) perSecond.push(this.#perSecond[(this.#second - i) % 60]);
    const total = perSecond.reduce((sum, n) => sum + n, 0);
    return { perSecond, last60s: Math.round((total / 60) * 100) / 100 };
  }

  waitSummaries(): Record<string, LatencySummary> {
    const summaries: Record<string, LatencySummary> = {};
    for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) {
      summaries[p] = this.waitByPriority[p - MIN_PRIORITY].summary();
    }
    return summaries;
  }

  #advance(now: number): void {
    const second = Math.floor(now / 1000);
    if (second <= this.#second) return;
    const gap = Math.min(60, second - this.#second);
    for (let i = 1; i <= gap; i++) this.#perSecond[(this.#second + i) % 60] = 0;
    this.#second = second;
  }
}

/** Worker totals from per-slot info. */
export function workerTotals(workers: WorkerInfo[]): EngineStats["workers"] {
  let busy = 0;
  let idle = 0;
  let restarts = 0;
  for (const worker of workers) {
    if (worker.state === "busy") busy++;
    if (worker.state === "idle") idle++;
    restarts += worker.restarts;
  }
  return { total: workers.length, busy, idle, restarts };
}
