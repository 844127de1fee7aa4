import { useState } from "preact/hooks";
import { LineChart, spanLabel } from "../components/LineChart.tsx";
import { StaleNote } from "../components/StaleNote.tsx";
import { formatCount, formatDuration } from "../components/format.ts";
import { useStaleAge } from "./_client/freshness.ts";
import { useHistory } from "./_client/history_feed.ts";
import { useHydrated } from "./_client/hydrated.ts";
import type { HistoryWindow } from "../components/types.ts";

/** Props of {@linkcode HistoryCharts}. */
export interface HistoryChartsProps {
  /** The window the server rendered (5 minutes or an hour). */
  history: HistoryWindow;
}

/** The windows offered, seconds, with their names. */
export const CHART_WINDOWS: { seconds: number; label: string }[] = [
  { seconds: 300, label: "5 min" },
  { seconds: 3600, label: "1 h" },
];

const PRIORITIES = ["10", "9", "8", "7", "6", "5", "4", "3", "2", "1"];

/**
 * Throughput, wait and run latency (p50 and p95) and queue depth over the
 * last 5 minutes or hour, from the service's history; new steps are appended
 * live. Pointing at a chart (or the arrow keys) reads one step in all three.
 */
export default function HistoryCharts(props: HistoryChartsProps) {
  const { window: shown, select, loading } = useHistory(props.history);
  const [cursor, setCursor] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const hydrated = useHydrated();
  const age = useStaleAge();

  function choose(event: Event, seconds: number) {
    event.preventDefault();
    setCursor(null);
    select(seconds).then(() => {
      setProblem(null);
      const url = new URL(location.href);
      url.searchParams.set("window", String(seconds));
      history.replaceState(null, "", url);
    }, (error) => setProblem(`Could not load that window: ${(error as Error).message}`));
  }

  const queuedTotal = shown.t.map((_, i) => {
    let total: number | null = null;
    for (const p of PRIORITIES) {
      const n = shown.queued[p]?.[i];
      if (n !== null && n !== undefined) total = (total ?? 0) + n;
    }
    return total;
  });
  const common = {
    times: shown.t,
    stepMs: shown.stepMs,
    windowMs: shown.seconds * 1000,
    cursor,
    onCursor: hydrated ? setCursor : undefined,
  };
  return (
    <div class="history" data-window={shown.seconds}>
      <div class="chart-tools">
        <nav class="segmented" aria-label="Chart window">
          {CHART_WINDOWS.map(({ seconds, label }) => (
            <a
              key={seconds}
              href={`/?window=${seconds}`}
              aria-current={shown.seconds === seconds ? "true" : undefined}
              onClick={hydrated ? (event) => choose(event, seconds) : undefined}
            >
              {label}
            </a>
          ))}
        </nav>
        <span class="muted">
          {loading ? "Loading…" : `one point per ${spanLabel(shown.stepMs)}`}
        </span>
        <StaleNote ageMs={age} />
        {problem && <span class="field-error" role="alert">{problem}</span>}
      </div>
      <div class="charts">
        <LineChart
          {...common}
          title="Throughput"
          formatValue={formatRate}
          series={[{ label: "finished/s", className: "s-throughput", values: shown.throughput }]}
        />
        <LineChart
          {...common}
          title="Latency"
          formatValue={formatDuration}
          series={[
            { label: "wait p95", className: "s-wait", values: shown.waitP95 },
            { label: "wait p50", className: "s-wait-median", values: shown.waitP50 },
            { label: "run p95", className: "s-run", values: shown.runP95 },
            { label: "run p50", className: "s-run-median", values: shown.runP50 },
          ]}
        />
        <LineChart
          {...common}
          title="Queued"
          minTop={2}
          formatValue={(v) => formatCount(v)}
          series={[{ label: "queued", className: "s-queued", values: queuedTotal }]}
          detail={(i) =>
            PRIORITIES
              .filter((p) => (shown.queued[p]?.[i] ?? 0) > 0)
              .map((p) => `P${p} ${formatCount(shown.queued[p][i]!)}`)
              .join(", ")}
        />
      </div>
    </div>
  );
}

function formatRate(value: number): string {
  return value >= 10 ? formatCount(value) : String(Math.round(value * 10) / 10);
}
