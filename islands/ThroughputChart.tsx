import { useEffect } from "preact/hooks";
import { formatDuration } from "../components/format.ts";
import { LineChart } from "../components/LineChart.tsx";
import { history, HISTORY_LIMIT, seed, seedHistory, startLive } from "./_client/live.ts";
import type { DashboardStats } from "../components/types.ts";

/** Props of {@linkcode ThroughputChart}. */
export interface ThroughputChartProps {
  stats: DashboardStats;
  /** Server time of the snapshot, so server and browser draw the same first frame. */
  now: number;
}

/** Throughput and p95 latencies over the last five minutes, appended live. */
export default function ThroughputChart(props: ThroughputChartProps) {
  useEffect(() => {
    seed({ stats: props.stats });
    startLive();
  }, []);
  const samples = history.value.length > 0 ? history.value : seedHistory(props.stats, props.now);
  const times = samples.map((s) => s.t);
  // The axis spans the history there is: from one minute up to five.
  const span = times.length > 1 ? times[times.length - 1] - times[0] : 0;
  const windowMs = Math.min(HISTORY_LIMIT * 1000, Math.max(60_000, span));
  return (
    <div class="charts">
      <LineChart
        title="Throughput"
        unit="tasks/s"
        times={times}
        windowMs={windowMs}
        formatValue={(v) => (v >= 10 ? String(Math.round(v)) : v.toFixed(1))}
        series={[{
          label: "finished/s",
          className: "s-throughput",
          values: samples.map((s) => s.perSecond),
        }]}
      />
      <LineChart
        title="Latency p95"
        unit=""
        times={times}
        windowMs={windowMs}
        formatValue={formatDuration}
        series={[
          { label: "wait p95", className: "s-wait", values: samples.map((s) => s.waitP95) },
          { label: "run p95", className: "s-run", values: samples.map((s) => s.runP95) },
        ]}
      />
    </div>
  );
}
