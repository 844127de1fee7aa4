/**
 * How long each task type's handler runs, as a moving average: what the
 * pool goes by to decide whether a type's jobs may wait ahead in a worker
 * (prefetch) and how many.
 *
 * @module
 */

/** A type whose handler runs faster than this (ms, moving average) is quick. */
export const QUICK_MS = 1;

/**
 * Recent handler run time per task type.
 *
 * @example
 * ```ts
 * import { TypeRunTimes } from "./engine/pool/run_times.ts";
 * const times = new TypeRunTimes();
 * times.record("noop", 0.01);
 * times.isQuick("noop"); // true
 * times.isQuick("fib"); // false: never run
 * ```
 */
export class TypeRunTimes {
  #averageMs = new Map<string, number>();

  /** Adds a run of `type` that took `runMs`. */
  record(type: string, runMs: number): void {
    const average = this.#averageMs.get(type);
    this.#averageMs.set(type, average === undefined ? runMs : average * 0.8 + runMs * 0.2);
  }

  /** The moving average of `type`'s run time, ms, or `undefined` before any run. */
  of(type: string): number | undefined {
    return this.#averageMs.get(type);
  }

  /** Whether `type`'s jobs run in under {@linkcode QUICK_MS} (a type never run is not quick). */
  isQuick(type: string): boolean {
    return (this.#averageMs.get(type) ?? Infinity) < QUICK_MS;
  }
}
