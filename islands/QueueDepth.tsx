import { useEffect } from "preact/hooks";
import { formatCount, formatDuration } from "../components/format.ts";
import { StaleNote } from "../components/StaleNote.tsx";
import { useStaleAge } from "./_client/freshness.ts";
import { seed, startLive, stats } from "./_client/live.ts";
import type { DashboardStats } from "../components/types.ts";

/** Props of {@linkcode QueueDepth}. */
export interface QueueDepthProps {
  stats: DashboardStats;
}

const PRIORITIES = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];

/** Queued tasks by priority as bars, with the oldest wait of each. */
export default function QueueDepth(props: QueueDepthProps) {
  useEffect(() => {
    seed({ stats: props.stats });
    startLive();
  }, []);
  const current = stats.value ?? props.stats;
  const max = Math.max(1, ...PRIORITIES.map((p) => current.queuedByPriority[p] ?? 0));
  const age = useStaleAge();
  return (
    <>
      <StaleNote ageMs={age} />
      <table class={age === null ? "depth" : "depth is-stale"}>
        <caption class="sr-only">Queued tasks by priority</caption>
        <thead>
          <tr>
            <th scope="col">Priority</th>
            <th scope="col">Queued</th>
            <th scope="col" class="depth-bar-col">
              <span class="sr-only">Share</span>
            </th>
            <th scope="col">Oldest</th>
          </tr>
        </thead>
        <tbody>
          {PRIORITIES.map((p) => {
            const n = current.queuedByPriority[p] ?? 0;
            return (
              <tr key={p}>
                <th scope="row">P{p}</th>
                <td class="num">{formatCount(n)}</td>
                <td class="depth-bar-col">
                  <svg
                    class="bar"
                    viewBox="0 0 100 8"
                    preserveAspectRatio="none"
                    aria-hidden="true"
                  >
                    <rect class="bar-track" width="100" height="8" />
                    <rect class="bar-fill" width={(n / max) * 100} height="8" />
                  </svg>
                </td>
                <td class="num">{formatDuration(current.oldestQueuedAgeMs[p] ?? null)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
