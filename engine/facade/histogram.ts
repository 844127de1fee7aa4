/**
 * A small log-bucket histogram for latencies in milliseconds: constant memory,
 * O(1) record, percentiles within a few percent.
 *
 * @module
 */

/** Percentiles of a latency distribution, in ms. */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * Bucket bounds and counts. `counts[i]` holds observations `<= bounds[i]` and
 * above `bounds[i - 1]`; `counts[bounds.length]` holds the rest (+Inf).
 */
export interface HistogramSnapshot {
  bounds: number[];
  counts: number[];
  sum: number;
  count: number;
}

/** Smallest bound, ms. */
const FIRST_BOUND = 0.01;
/** Four buckets per doubling: bounds grow by 2^(1/4), about 19%. */
const STEPS_PER_DOUBLING = 4;
/** 0.01 ms × 2^32 ≈ 11.9 hours. */
const DOUBLINGS = 32;
const BUCKETS = DOUBLINGS * STEPS_PER_DOUBLING + 1;

const FINE_BOUNDS: number[] = Array.from(
  { length: BUCKETS },
  (_, i) => FIRST_BOUND * 2 ** (i / STEPS_PER_DOUBLING),
);

/**
 * Records latencies and answers percentiles.
 *
 * @example
 * ```ts
 * import { Histogram } from "./engine/facade/histogram.ts";
 * const h = new Histogram();
 * h.record(12.5);
 * h.summary().p50; // about 12.5
 * ```
 */
export class Histogram {
  #counts = new Float64Array(BUCKETS + 1);
  #count = 0;
  #sum = 0;
  #max = 0;

  get count(): number {
    return this.#count;
  }

  record(ms: number): void {
    if (!(ms >= 0)) return;
    const index = ms <= FIRST_BOUND
      ? 0
      : Math.min(BUCKETS, Math.ceil(Math.log2(ms / FIRST_BOUND) * STEPS_PER_DOUBLING - 1e-9));
    this.#counts[index]++;
    this.#count++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** Adds every observation of `other` to this one. */
  add(other: Histogram): void {
    for (let i = 0; i <= BUCKETS; i++) this.#counts[i] += other.#counts[i];
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /** Forgets every observation. */
  clear(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }

  /** The value below which `q` (0–1) of observations fall; 0 when empty. */
  percentile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = q * this.#count;
    let seen = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      const inBucket = this.#counts[i];
      if (inBucket === 0) continue;
      if (seen + inBucket >= rank) {
        const upper = i < BUCKETS ? FINE_BOUNDS[i] : this.#max;
        const lower = i === 0 ? 0 : FINE_BOUNDS[i - 1];
        const within = (rank - seen) / inBucket;
        return Math.min(this.#max, lower + (upper - lower) * within);
      }
      seen += inBucket;
    }
    return this.#max;
  }

  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: round(this.percentile(0.5)),
      p95: round(this.percentile(0.95)),
      p99: round(this.percentile(0.99)),
      max: round(this.#max),
    };
  }

  /** Counts on coarse bounds (powers of two from 0.01 ms), for Prometheus. */
  snapshot(): HistogramSnapshot {
    const bounds: number[] = [];
    const counts: number[] = [];
    let bucket = 0;
    for (let i = 0; i < BUCKETS; i++) {
      bucket += this.#counts[i];
      if (i % STEPS_PER_DOUBLING === 0) {
        bounds.push(round(FINE_BOUNDS[i]));
        counts.push(bucket);
        bucket = 0;
      }
    }
    counts.push(bucket + this.#counts[BUCKETS]);
    return { bounds, counts, sum: this.#sum, count: this.#count };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
