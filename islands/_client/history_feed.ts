/**
 * Browser side: the service's history for the charts, kept current by asking
 * `GET /api/history?since=` for the steps completed since the last one, after
 * each stats message (about once a second while live and visible).
 *
 * @module
 */

import { signal } from "@preact/signals";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api.ts";
import { onStats, startLive } from "./live.ts";
import type { HistoryWindow } from "../../components/types.ts";

/** Share of the last minute each worker slot was busy, 0–1, by slot id; `null` before any. */
export const workerLoad = signal<Record<string, number> | null>(null);

interface HistoryAnswer {
  history: HistoryWindow;
  workerLoad: Record<string, number>;
}

/**
 * `current` with the steps of `more` that start after its last one, keeping
 * the window's length (the oldest steps drop off).
 *
 * @example
 * ```ts ignore
 * window = appendSteps(window, answer.history);
 * ```
 */
export function appendSteps(current: HistoryWindow, more: HistoryWindow): HistoryWindow {
  const last = current.t.at(-1) ?? -Infinity;
  const from = more.t.findIndex((t) => t > last);
  if (from === -1 || more.stepMs !== current.stepMs) return current;
  const keep = Math.round((current.seconds * 1000) / current.stepMs);
  const join = (a: (number | null)[], b: (number | null)[]) => a.concat(b.slice(from)).slice(-keep);
  const queued: Record<string, (number | null)[]> = {};
  for (const key of Object.keys(current.queued)) {
    queued[key] = join(current.queued[key], more.queued[key] ?? []);
  }
  return {
    seconds: current.seconds,
    stepMs: current.stepMs,
    t: current.t.concat(more.t.slice(from)).slice(-keep),
    throughput: join(current.throughput, more.throughput),
    waitP50: join(current.waitP50, more.waitP50),
    waitP95: join(current.waitP95, more.waitP95),
    runP50: join(current.runP50, more.runP50),
    runP95: join(current.runP95, more.runP95),
    queued,
  };
}

/**
 * The history window shown, starting from the one the server rendered, kept
 * current while live; `select(seconds)` loads another window.
 *
 * @example
 * ```ts ignore
 * const { window, select, loading } = useHistory(props.history);
 * ```
 */
export function useHistory(initial: HistoryWindow): {
  window: HistoryWindow;
  select: (seconds: number) => Promise<void>;
  loading: boolean;
} {
  const [window, setWindow] = useState(initial);
  const [loading, setLoading] = useState(false);
  const current = useRef(initial);
  current.current = window;
  const inFlight = useRef(false);

  useEffect(() => {
    startLive();
    return onStats(() => {
      if (inFlight.current || document.visibilityState === "hidden") return;
      inFlight.current = true;
      const shown = current.current;
      const since = shown.t.at(-1) ?? 0;
      api<HistoryAnswer>(`/api/history?window=${shown.seconds}&since=${since}`)
        .then((answer) => {
          workerLoad.value = answer.workerLoad;
          setWindow((now) =>
            now.seconds === shown.seconds ? appendSteps(now, answer.history) : now
          );
        })
        .catch(() => undefined)
        .finally(() => inFlight.current = false);
    });
  }, []);

  async function select(seconds: number): Promise<void> {
    setLoading(true);
    try {
      const answer = await api<HistoryAnswer>(`/api/history?window=${seconds}`);
      workerLoad.value = answer.workerLoad;
      setWindow(answer.history);
    } finally {
      setLoading(false);
    }
  }
  return { window, select, loading };
}
