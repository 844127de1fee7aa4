/**
 * Browser side: a hook that feeds a list view the task events, at most a few
 * times a second. A busy engine replaces a whole page of rows many times a
 * second; nobody reads that, and rebuilding the rows every frame costs frames.
 *
 * @module
 */

import { useEffect } from "preact/hooks";
import { onTaskEvents, startLive } from "./live.ts";
import type { TaskEvent } from "../../components/types.ts";

/** Default shortest time between two deliveries, ms. */
export const LIST_INTERVAL_MS = 250;
/** A delivery this large means a firehose: the next one waits {@linkcode BUSY_INTERVAL_MS}. */
export const BUSY_EVENTS = 100;
/** Shortest time between deliveries while the events pour in, ms. */
export const BUSY_INTERVAL_MS = 1000;

/**
 * Calls `handler` with the task events since its last call (latest per task),
 * right away when the last call was long enough ago, otherwise once
 * `intervalMs` has passed (a second after a delivery of
 * {@linkcode BUSY_EVENTS} or more: a page that turns over entirely is not read
 * faster than that). Starts the live connection.
 *
 * @example
 * ```ts ignore
 * useTaskEvents((events) => setRows((rows) => applyTaskEvents(rows, events, options)));
 * ```
 */
export function useTaskEvents(
  handler: (events: TaskEvent[]) => void,
  intervalMs = LIST_INTERVAL_MS,
): void {
  useEffect(() => {
    startLive();
    const pending = new Map<string, TaskEvent>();
    let last = -Infinity;
    let gap = intervalMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deliver = () => {
      timer = undefined;
      last = performance.now();
      const events = [...pending.values()];
      pending.clear();
      gap = events.length >= BUSY_EVENTS ? Math.max(intervalMs, BUSY_INTERVAL_MS) : intervalMs;
      handler(events);
    };
    const off = onTaskEvents((events) => {
      for (const event of events) {
        pending.delete(event.task.id);
        pending.set(event.task.id, event);
      }
      if (timer !== undefined) return;
      const wait = last + gap - performance.now();
      if (wait <= 0) deliver();
      else timer = setTimeout(deliver, wait);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, []);
}
