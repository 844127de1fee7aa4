/**
 * Browser side: reading a fast-changing signal at a human pace.
 *
 * @module
 */

import type { ReadonlySignal } from "@preact/signals";
import { useEffect, useState } from "preact/hooks";

/**
 * The value of `source`, re-read at most once every `ms` (the last change
 * always arrives). A worker slot flips between busy and idle many times a
 * second under load; a card redrawn 60 times a second shows nothing more and
 * costs the page its frames.
 *
 * @example
 * ```ts ignore
 * const list = useThrottled(workers, 250) ?? props.workers;
 * ```
 */
export function useThrottled<T>(source: ReadonlySignal<T>, ms: number): T {
  const [value, setValue] = useState(source.peek());
  useEffect(() => {
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deliver = () => {
      timer = undefined;
      last = performance.now();
      setValue(source.peek());
    };
    const stop = source.subscribe(() => {
      if (timer !== undefined) return;
      const wait = last + ms - performance.now();
      if (wait <= 0) deliver();
      else timer = setTimeout(deliver, wait);
    });
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, [source, ms]);
  return value;
}
