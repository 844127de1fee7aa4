/**
 * Open timers of the service: `setTimeout` and `setInterval` wrapped, once,
 * at start, to count those not yet fired or cleared. A count that only
 * grows is a leak (a timer per request, per task, per connection), which
 * the soak watches through `/metrics` (`threadflow_open_timers`).
 *
 * Deno has no API that lists timers; wrapping the globals is the one way to
 * see them. Timers made inside Deno's own modules are not counted.
 *
 * @module
 */

const open = new Set<unknown>();
let installed = false;

type Callback = (...args: unknown[]) => void;
type Schedule = (callback: Callback, delay?: number, ...args: unknown[]) => unknown;
type Clear = (id?: unknown) => void;

/**
 * Starts counting timers made from now on (idempotent). Call it first in a
 * program's entry point.
 *
 * @example
 * ```ts
 * import { countTimers, openTimers } from "./server/timer_count.ts";
 * countTimers();
 * const id = setTimeout(() => {}, 1_000);
 * openTimers(); // 1 (or more)
 * clearTimeout(id);
 * ```
 */
export function countTimers(): void {
  if (installed) return;
  installed = true;
  const scope = globalThis as unknown as Record<string, unknown>;
  const setTimeoutBase = scope.setTimeout as Schedule;
  const setIntervalBase = scope.setInterval as Schedule;
  const clearTimeoutBase = scope.clearTimeout as Clear;
  const clearIntervalBase = scope.clearInterval as Clear;
  scope.setTimeout = function setTimeout(callback: Callback, delay?: number, ...args: unknown[]) {
    if (typeof callback !== "function") return setTimeoutBase(callback, delay, ...args);
    const id = setTimeoutBase(
      (...inner: unknown[]) => {
        open.delete(id);
        callback(...inner);
      },
      delay,
      ...args,
    );
    open.add(id);
    return id;
  };
  scope.setInterval = function setInterval(callback: Callback, delay?: number, ...args: unknown[]) {
    const id = setIntervalBase(callback, delay, ...args);
    open.add(id);
    return id;
  };
  scope.clearTimeout = function clearTimeout(id?: unknown) {
    open.delete(id);
    clearTimeoutBase(id);
  };
  scope.clearInterval = function clearInterval(id?: unknown) {
    open.delete(id);
    clearIntervalBase(id);
  };
}

/** Timers made since {@linkcode countTimers} and not yet fired or cleared; `undefined` before it. */
export function openTimers(): number | undefined {
  return installed ? open.size : undefined;
}
