/**
 * Browser side: a hook that feeds a list view the task events, at most a few
 * times a second. A busy engine replaces a whole page of rows many times a
 * second; nobody reads that, and rebuilding the rows every frame costs frames.
 *
 * @module
 */

import { useEffect } from "preact/hooks";
import { onTaskEvents, startLive } from "./live.ts";
import type { TaskEvent } from "../_shared/types.ts";

/** Default shortest time between two deliveries, ms. */
export const LIST_INTERVAL_MS = 250;

/**
 * Calls `handler` with the task events since its last call (latest per task),
 * right away when the last call was long enough ago, otherwise once
 * `intervalMs` has passed. Starts the live connection.
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
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deliver = () => {
      timer = undefined;
      last = performance.now();
      const events = [...pending.values()];
      pending.clear();
      handler(events);
    };
    const off = onTaskEvents((events) => {
      for (const event of events) {
        pending.delete(event.task.id);
        pending.set(event.task.id, event);
      }
      if (timer !== undefined) return;
      const wait = last + intervalMs - performance.now();
      if (wait <= 0) deliver();
      else timer = setTimeout(deliver, wait);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, []);
}
