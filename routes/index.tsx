import LiveCounters from "../islands/LiveCounters.tsx";
import QueueDepth from "../islands/QueueDepth.tsx";
import RecentTasks from "../islands/RecentTasks.tsx";
import SubmitPanel from "../islands/SubmitPanel.tsx";
import ThroughputChart from "../islands/ThroughputChart.tsx";
import WorkerGrid from "../islands/WorkerGrid.tsx";
import { formatDuration } from "../components/format.ts";
import { dashboardStats, typeSummaries } from "../server/dashboard_state.ts";
import type { DashboardStats, Task, TaskTypeSummary, WorkerInfo } from "../components/types.ts";
import type { DashboardState } from "../server/dashboard_state.ts";
import type { PageProps, PageResult, RouteContext } from "../server/ui/mod.ts";

/** Tasks shown in the overview's "Newest tasks". */
const RECENT = 8;

/** Data of the overview page. */
export interface OverviewData {
  stats: DashboardStats;
  workers: WorkerInfo[];
  types: TaskTypeSummary[];
  recent: Task[];
  now: number;
}

/** Loads the overview from the engine. */
export async function handler(
  ctx: RouteContext<DashboardState>,
): Promise<PageResult<OverviewData>> {
  const [stats, recent] = await Promise.all([
    ctx.state.engine.stats(),
    ctx.state.engine.list({ limit: RECENT }),
  ]);
  return {
    title: "Overview",
    data: {
      stats: dashboardStats(stats),
      workers: ctx.state.engine.workers(),
      types: typeSummaries(ctx.state.engine.taskTypes()),
      recent: recent.tasks,
      now: Date.now(),
    },
  };
}

/** The overview: counters, queue depth, charts, workers, submit panel, newest tasks. */
export default function Overview({ data }: PageProps<OverviewData>) {
  const { stats } = data;
  return (
    <>
      <div class="page-head">
        <h1>Overview</h1>
        <p class="muted">
          Node <span class="mono">{stats.nodeId}</span> · store {stats.store} · {stats.state} · up
          {" "}
          {formatDuration(stats.uptimeMs)}
        </p>
      </div>
      <section aria-labelledby="counts-h" class="panel">
        <h2 id="counts-h">Tasks</h2>
        <LiveCounters stats={stats} />
      </section>
      <div class="grid-2">
        <section aria-labelledby="submit-h" class="panel">
          <h2 id="submit-h">Submit</h2>
          <noscript>
            <p class="muted">
              Submitting from the dashboard needs JavaScript; use POST /api/tasks.
            </p>
          </noscript>
          <SubmitPanel types={data.types} />
        </section>
        <section aria-labelledby="recent-h" class="panel">
          <h2 id="recent-h">
            Newest tasks <a class="h-link" href="/tasks">all tasks</a>
          </h2>
          <RecentTasks tasks={data.recent} limit={RECENT} />
        </section>
      </div>
      <section aria-labelledby="chart-h" class="panel">
        <h2 id="chart-h">Throughput and latency</h2>
        <ThroughputChart stats={stats} now={data.now} />
      </section>
      <div class="grid-2 grid-2-wide-right">
        <section aria-labelledby="depth-h" class="panel">
          <h2 id="depth-h">Queue by priority</h2>
          <QueueDepth stats={stats} />
        </section>
        <section aria-labelledby="workers-h" class="panel">
          <h2 id="workers-h">Workers</h2>
          <WorkerGrid workers={data.workers} />
        </section>
      </div>
    </>
  );
}
