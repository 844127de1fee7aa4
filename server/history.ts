/**
 * The dashboard's history: once a second the service reads the engine's
 * figures and keeps, for the last hour in a fixed ring, the tasks finished in
 * each second, the wait and run time distributions of that second (deltas of
 * the engine's cumulative histograms) and the queue depth by priority. Charts
 * read windows of it (`GET /api/history`), so a page opened after a burst
 * still shows the burst.
 *
 * Memory is fixed by the capacity: for 3,600 seconds about 1.4 MB, whatever
 * the load.
 *
 * @module
 */

import type { EngineStats, HistogramSnapshot, WorkerInfo } from "../engine/mod.ts";
import type { HistoryWindow } from "../components/types.ts";

export type { HistoryWindow };

/** One reading of the figures history keeps; see {@linkcode readEngineFigures}. */
export interface HistoryReading {
  /** When it was read, ms since epoch. */
  at: number;
  /**
   * Tasks finished in each of the last seconds, oldest first; the last entry
   * is the second `at` falls in (still running), the one before it the last
   * complete second.
   */
  finishedPerSecond: number[];
  /** Cumulative wait time histogram (ready → started), ms. */
  waitMs: HistogramSnapshot;
  /** Cumulative run time histogram, ms. */
  runMs: HistogramSnapshot;
  /** Tasks queued now per priority, keyed "1".."10". */
  queuedByPriority: Record<string, number>;
  /** Worker slots, for their load. */
  workers: WorkerInfo[];
}

/** What {@linkcode readEngineFigures} calls; a `ThreadFlow` satisfies it. */
export interface HistorySourceEngine {
  stats(): Promise<Pick<EngineStats, "throughput" | "histograms" | "queuedByPriority">>;
  workers(): WorkerInfo[];
}

/**
 * The one place history reads its figures from. Today it reads this node's
 * `engine.stats()`; on PostgreSQL, cluster-wide figures will come in here.
 *
 * @example
 * ```ts ignore
 * const reading = await readEngineFigures(tf);
 * ```
 */
export async function readEngineFigures(engine: HistorySourceEngine): Promise<HistoryReading> {
  const stats = await engine.stats();
  return {
    at: Date.now(),
    finishedPerSecond: stats.throughput.perSecond,
    waitMs: stats.histograms.waitMs,
    runMs: stats.histograms.runMs,
    queuedByPriority: stats.queuedByPriority,
    workers: engine.workers(),
  };
}

/** Options of {@linkcode HistoryRecorder}. */
export interface HistoryOptions {
  /** Seconds kept; default 3,600 (one hour). */
  capacity?: number;
}

/** Most steps in one window: a 600-pixel chart shows no more. */
export const MAX_STEPS = 360;
/** The windows the dashboard offers, seconds. */
export const HISTORY_WINDOWS = [300, 3600] as const;
const PRIORITIES = 10;
/** The loads are over this many of the last seconds. */
const LOAD_SECONDS = 60;

/**
 * Keeps the last `capacity` seconds of figures from readings given to
 * {@linkcode HistoryRecorder.record}, and answers windows of them.
 *
 * @example
 * ```ts ignore
 * const history = new HistoryRecorder();
 * history.record(await readEngineFigures(tf));
 * const last5min = history.window(300);
 * ```
 */
export class HistoryRecorder {
  readonly capacity: number;
  /** The second each slot holds, or -1. */
  #second: Float64Array;
  #finished: Float64Array;
  /** `PRIORITIES` entries a slot; NaN where not sampled. */
  #queued: Float64Array;
  /** Histogram deltas: `#buckets` entries a slot; all zero where none. */
  #wait: Uint32Array | null = null;
  #run: Uint32Array | null = null;
  #bounds: number[] = [];
  #previous: { wait: number[]; run: number[] } | null = null;
  /** The last complete second recorded, or -1. */
  #last = -1;
  #workers = new Map<number, { done: number; busy: Uint8Array; second: Float64Array }>();

  constructor(options: HistoryOptions = {}) {
    const capacity = options.capacity ?? 3600;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`History capacity must be a positive integer: received ${capacity}.`);
    }
    this.capacity = capacity;
    this.#second = new Float64Array(capacity).fill(-1);
    this.#finished = new Float64Array(capacity);
    this.#queued = new Float64Array(capacity * PRIORITIES).fill(NaN);
  }

  /** The last complete second recorded (seconds since epoch), or -1 before any reading. */
  get lastSecond(): number {
    return this.#last;
  }

  /**
   * Takes a reading. The figures of the reading belong to the last complete
   * second; seconds the sampler missed (a late timer) get their finished
   * counts from the reading's per-second buckets.
   */
  record(reading: HistoryReading): void {
    const second = Math.floor(reading.at / 1000) - 1;
    this.#recordWorkers(reading.workers, second);
    if (second <= this.#last) return;
    const buckets = reading.finishedPerSecond;
    const first = Math.max(
      this.#last + 1,
      second - (buckets.length - 2),
      second - this.capacity + 1,
    );
    for (let s = first; s <= second; s++) {
      const slot = this.#slot(s);
      this.#second[slot] = s;
      this.#finished[slot] = buckets[buckets.length - 1 - (second + 1 - s)] ?? 0;
      this.#queued.fill(NaN, slot * PRIORITIES, (slot + 1) * PRIORITIES);
      if (this.#wait) this.#clearBuckets(slot);
    }
    const slot = this.#slot(second);
    for (let p = 1; p <= PRIORITIES; p++) {
      this.#queued[slot * PRIORITIES + p - 1] = reading.queuedByPriority[p] ?? 0;
    }
    this.#recordHistograms(slot, reading.waitMs, reading.runMs);
    this.#last = second;
  }

  /**
   * The last `seconds` of history in at most {@linkcode MAX_STEPS} steps,
   * ending with the last complete step; with `since` (ms since epoch), only the
   * steps that start after it.
   */
  window(seconds: number, options: { since?: number } = {}): HistoryWindow {
    const stepS = Math.max(1, Math.ceil(seconds / MAX_STEPS));
    const steps = Math.ceil(seconds / stepS);
    const last = this.#last;
    // Steps are aligned to multiples of their length, so two calls agree on them.
    const endStep = Math.floor((last + 1) / stepS) - 1;
    const window: HistoryWindow = {
      seconds,
      stepMs: stepS * 1000,
      t: [],
      throughput: [],
      waitP50: [],
      waitP95: [],
      runP50: [],
      runP95: [],
      queued: {},
    };
    for (let p = 1; p <= PRIORITIES; p++) window.queued[p] = [];
    const buckets = this.#bounds.length + 1;
    const wait = new Float64Array(buckets);
    const run = new Float64Array(buckets);
    for (let k = endStep - steps + 1; k <= endStep; k++) {
      const t = k * stepS * 1000;
      if (options.since !== undefined && t <= options.since) continue;
      let sampled = 0;
      let finished = 0;
      const queued = new Array<number | null>(PRIORITIES).fill(null);
      wait.fill(0);
      run.fill(0);
      for (let s = k * stepS; s < (k + 1) * stepS; s++) {
        const slot = this.#slot(s);
        if (this.#second[slot] !== s) continue;
        sampled++;
        finished += this.#finished[slot];
        for (let p = 0; p < PRIORITIES; p++) {
          const n = this.#queued[slot * PRIORITIES + p];
          if (!Number.isNaN(n)) queued[p] = Math.max(queued[p] ?? 0, n);
        }
        if (this.#wait && this.#run) {
          for (let i = 0; i < buckets; i++) {
            wait[i] += this.#wait[slot * buckets + i];
            run[i] += this.#run[slot * buckets + i];
          }
        }
      }
      window.t.push(t);
      window.throughput.push(sampled === 0 ? null : round(finished / sampled, 100));
      window.waitP50.push(percentile(wait, this.#bounds, 0.5));
      window.waitP95.push(percentile(wait, this.#bounds, 0.95));
      window.runP50.push(percentile(run, this.#bounds, 0.5));
      window.runP95.push(percentile(run, this.#bounds, 0.95));
      for (let p = 1; p <= PRIORITIES; p++) window.queued[p].push(queued[p - 1]);
    }
    return window;
  }

  /**
   * Share of the last minute each worker slot spent running tasks, 0–1, by
   * slot id: the seconds at whose sample it was busy or had finished a task
   * since the previous one, over the seconds sampled.
   */
  workerLoad(): Record<string, number> {
    const loads: Record<string, number> = {};
    for (const [id, worker] of this.#workers) {
      let sampled = 0;
      let busy = 0;
      for (let i = 0; i < LOAD_SECONDS; i++) {
        if (worker.second[i] > this.#last - LOAD_SECONDS && worker.second[i] >= 0) {
          sampled++;
          busy += worker.busy[i];
        }
      }
      loads[id] = sampled === 0 ? 0 : round(busy / sampled, 100);
    }
    return loads;
  }

  #slot(second: number): number {
    return ((second % this.capacity) + this.capacity) % this.capacity;
  }

  #clearBuckets(slot: number): void {
    const buckets = this.#bounds.length + 1;
    this.#wait!.fill(0, slot * buckets, (slot + 1) * buckets);
    this.#run!.fill(0, slot * buckets, (slot + 1) * buckets);
  }

  #recordHistograms(slot: number, wait: HistogramSnapshot, run: HistogramSnapshot): void {
    if (this.#wait === null || wait.bounds.length !== this.#bounds.length) {
      // First reading, or the engine changed its buckets: start the distributions afresh.
      this.#bounds = [...wait.bounds];
      const buckets = this.#bounds.length + 1;
      this.#wait = new Uint32Array(this.capacity * buckets);
      this.#run = new Uint32Array(this.capacity * buckets);
      this.#previous = null;
    }
    const buckets = this.#bounds.length + 1;
    if (this.#previous !== null) {
      writeDelta(this.#wait, slot * buckets, wait.counts, this.#previous.wait);
      writeDelta(this.#run!, slot * buckets, run.counts, this.#previous.run);
    }
    this.#previous = { wait: [...wait.counts], run: [...run.counts] };
  }

  #recordWorkers(workers: WorkerInfo[], second: number): void {
    const seen = new Set<number>();
    for (const worker of workers) {
      seen.add(worker.id);
      const done = worker.completed + worker.failed;
      let entry = this.#workers.get(worker.id);
      if (!entry) {
        entry = {
          done,
          busy: new Uint8Array(LOAD_SECONDS),
          second: new Float64Array(LOAD_SECONDS).fill(-1),
        };
        this.#workers.set(worker.id, entry);
      }
      const i = ((second % LOAD_SECONDS) + LOAD_SECONDS) % LOAD_SECONDS;
      entry.second[i] = second;
      entry.busy[i] = worker.state === "busy" || done !== entry.done ? 1 : 0;
      entry.done = done;
    }
    for (const id of this.#workers.keys()) if (!seen.has(id)) this.#workers.delete(id);
  }
}

/** Writes `current - previous` per bucket; a shrunk count (the engine restarted) counts whole. */
function writeDelta(into: Uint32Array, at: number, current: number[], previous: number[]): void {
  let reset = false;
  for (let i = 0; i < current.length; i++) if (current[i] < (previous[i] ?? 0)) reset = true;
  for (let i = 0; i < current.length; i++) {
    into[at + i] = reset ? current[i] : current[i] - (previous[i] ?? 0);
  }
}

/**
 * The `q` quantile of bucket counts (`counts[i]` holds values up to
 * `bounds[i]`, the last bucket those above), interpolated within its bucket;
 * `null` when empty.
 *
 * @example
 * ```ts ignore
 * percentile(new Float64Array([0, 10, 0]), [1, 2], 0.5); // 1.5
 * ```
 */
export function percentile(
  counts: ArrayLike<number>,
  bounds: number[],
  q: number,
): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i];
    if (inBucket === 0) continue;
    if (seen + inBucket >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1];
      // Above the last bound nothing tells how far: report the last bound.
      const upper = i < bounds.length ? bounds[i] : bounds[bounds.length - 1];
      return round(lower + (upper - lower) * ((rank - seen) / inBucket), 1000);
    }
    seen += inBucket;
  }
  return round(bounds[bounds.length - 1] ?? 0, 1000);
}

function round(value: number, scale: number): number {
  return Math.round(value * scale) / scale;
}

/** A running sampler: its history, and how to stop it. */
export interface HistorySampler {
  history: HistoryRecorder;
  /** Stops sampling; the history stays readable. */
  stop(): void;
}

/** Options of {@linkcode startHistory}. */
export interface StartHistoryOptions extends HistoryOptions {
  /** Time between readings, ms; default 1,000. */
  intervalMs?: number;
  /** The figures' source; default {@linkcode readEngineFigures} of the engine. */
  read?: () => Promise<HistoryReading>;
}

/**
 * Samples `engine` now and then once a second into a new history, until
 * stopped or until the engine is closed. The timer does not keep the process
 * alive.
 *
 * @example
 * ```ts ignore
 * const sampler = startHistory(tf);
 * sampler.history.window(300);
 * sampler.stop();
 * ```
 */
export function startHistory(
  engine: HistorySourceEngine & { readonly state: string },
  options: StartHistoryOptions = {},
): HistorySampler {
  const history = new HistoryRecorder(options);
  const read = options.read ?? (() => readEngineFigures(engine));
  let busy = false;
  const sample = () => {
    if (engine.state === "closed") return stop();
    if (busy) return;
    busy = true;
    read().then(
      (reading) => history.record(reading),
      // A store that is down for a moment leaves a gap in the charts, nothing more.
      () => undefined,
    ).finally(() => busy = false);
  };
  const timer = setInterval(sample, options.intervalMs ?? 1000);
  Deno.unrefTimer(timer);
  function stop(): void {
    clearInterval(timer);
  }
  sample();
  return { history, stop };
}
