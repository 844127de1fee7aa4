import HistoryCharts, { CHART_WINDOWS } from "../islands/HistoryCharts.tsx";
import LiveCounters from "../islands/LiveCounters.tsx";
import NodeInfo from "../islands/NodeInfo.tsx";
import QueueDepth from "../islands/QueueDepth.tsx";
import RecentTasks from "../islands/RecentTasks.tsx";
import SubmitPanel from "../islands/SubmitPanel.tsx";
import WorkerGrid, { type CurrentTask } from "../islands/WorkerGrid.tsx";
import { dashboardStats, typeSummaries } from "../server/dashboard_state.ts";
import type {
  DashboardStats,
  HistoryWindow,
  Task,
  TaskTypeSummary,
  WorkerInfo,
} from "../components/types.ts";
import type { DashboardState } from "../server/dashboard_state.ts";
import type { PageProps, PageResult, RouteContext } from "../server/ui/mod.ts";

/** Tasks shown in the overview's "Newest tasks". */
const RECENT = 8;
/** Most busy workers whose task is looked up for its type (the rest fill in live). */
const LOOKUPS = 32;

/** Data of the overview page. */
export interface OverviewData {
  stats: DashboardStats;
  workers: WorkerInfo[];
  load: Record<string, number>;
  current: Record<string, CurrentTask>;
  types: TaskTypeSummary[];
  recent: Task[];
  history: HistoryWindow;
}

/** Loads the overview from the engine and the history; `?window=3600` charts the last hour. */
export async function handler(
  ctx: RouteContext<DashboardState>,
): Promise<PageResult<OverviewData>> {
  const { engine, history } = ctx.state;
  const asked = Number(ctx.url.searchParams.get("window"));
  const seconds = CHART_WINDOWS.some((w) => w.seconds === asked) ? asked : CHART_WINDOWS[0].seconds;
  const workers = engine.workers();
  const running = workers.flatMap((w) => w.taskIds.slice(0, 1)).slice(0, LOOKUPS);
  const [stats, recent, tasks] = await Promise.all([
    engine.stats(),
    engine.list({ limit: RECENT }),
    Promise.all(running.map((id) => engine.get(id))),
  ]);
  const current: Record<string, CurrentTask> = {};
  for (const task of tasks) {
    if (task) current[task.id] = { type: task.type, startedAt: task.startedAt };
  }
  return {
    title: "Overview",
    data: {
      stats: dashboardStats(stats),
      workers,
      load: history.workerLoad(),
      current,
      types: typeSummaries(engine.taskTypes()),
      recent: recent.tasks,
      history: history.window(seconds),
    },
  };
}

/** The overview: counters, history charts, queue depth, workers, submit panel, newest tasks. */
export default function Overview({ data }: PageProps<OverviewData>) {
  const { stats } = data;
  return (
    <>
      <div class="page-head">
        <h1>Overview</h1>
        <NodeInfo stats={stats} />
      </div>
      <section aria-labelledby="counts-h" class="panel">
        <h2 id="counts-h">Tasks</h2>
        <LiveCounters stats={stats} />
      </section>
      <section aria-labelledby="chart-h" class="panel">
        <h2 id="chart-h">Throughput, latency and queue</h2>
        <HistoryCharts history={data.history} />
      </section>
      <div class="grid-2 grid-2-wide-right grid-top">
        <section aria-labelledby="depth-h" class="panel">
          <h2 id="depth-h">Queue by priority</h2>
          <QueueDepth stats={stats} />
        </section>
        <section aria-labelledby="workers-h" class="panel">
          <h2 id="workers-h">Workers</h2>
          <WorkerGrid workers={data.workers} load={data.load} current={data.current} />
        </section>
      </div>
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
          <RecentTasks tasks={data.recent} limit={RECENT} nodeId={stats.nodeId} />
        </section>
      </div>
    </>
  );
}
