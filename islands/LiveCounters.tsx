import { useEffect } from "preact/hooks";
import { formatCount } from "../components/format.ts";
import { StaleNote } from "../components/StaleNote.tsx";
import { useStaleAge } from "./_client/freshness.ts";
import { seed, startLive, stats } from "./_client/live.ts";
import type { DashboardStats } from "../components/types.ts";

/** Props of {@linkcode LiveCounters}. */
export interface LiveCountersProps {
  stats: DashboardStats;
}

const STATUSES = ["queued", "scheduled", "blocked", "running", "succeeded", "failed", "cancelled"];

/** Task counts by status, kept live. */
export default function LiveCounters(props: LiveCountersProps) {
  useEffect(() => {
    seed({ stats: props.stats });
    startLive();
  }, []);
  const current = stats.value ?? props.stats;
  const age = useStaleAge();
  return (
    <>
      <StaleNote ageMs={age} />
      <ul class={age === null ? "counters" : "counters is-stale"} aria-label="Tasks by status">
        {STATUSES.map((status) => (
          <li key={status} class={`counter counter-${status}`}>
            <span class="counter-label">{status}</span>
            <strong class="counter-value" data-counter={status}>
              {formatCount(current.counts[status] ?? 0)}
            </strong>
          </li>
        ))}
      </ul>
    </>
  );
}
