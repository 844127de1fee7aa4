// This file is written by `deno task build` (scripts/build.ts): do not edit it.
// It hands the dashboard framework (server/ui/) every route and island of the app.

import type { UiManifest } from "./server/ui/mod.ts";
import type { DashboardState } from "./server/dashboard_state.ts";
import $app from "./routes/_app.tsx";
import $error from "./routes/_error.tsx";
import * as $route0 from "./routes/index.tsx";
import * as $route1 from "./routes/schedules.tsx";
import * as $route2 from "./routes/tasks/[id].tsx";
import * as $route3 from "./routes/tasks/[id]/retry.tsx";
import * as $route4 from "./routes/tasks/index.tsx";
import * as $route5 from "./routes/types.tsx";
import $island0 from "./islands/ConnectionStatus.tsx";
import $island1 from "./islands/HistoryCharts.tsx";
import $island2 from "./islands/LiveCounters.tsx";
import $island3 from "./islands/NodeInfo.tsx";
import $island4 from "./islands/QueueDepth.tsx";
import $island5 from "./islands/RecentTasks.tsx";
import $island6 from "./islands/ScheduleBoard.tsx";
import $island7 from "./islands/SubmitPanel.tsx";
import $island8 from "./islands/TaskDetail.tsx";
import $island9 from "./islands/TaskTable.tsx";
import $island10 from "./islands/TypeControls.tsx";
import $island11 from "./islands/WorkerGrid.tsx";

const manifest: UiManifest<DashboardState> = {
  baseUrl: new URL("./", import.meta.url),
  app: $app,
  error: $error,
  routes: {
    "index.tsx": $route0,
    "schedules.tsx": $route1,
    "tasks/[id].tsx": $route2,
    "tasks/[id]/retry.tsx": $route3,
    "tasks/index.tsx": $route4,
    "types.tsx": $route5,
  },
  islands: {
    ConnectionStatus: $island0,
    HistoryCharts: $island1,
    LiveCounters: $island2,
    NodeInfo: $island3,
    QueueDepth: $island4,
    RecentTasks: $island5,
    ScheduleBoard: $island6,
    SubmitPanel: $island7,
    TaskDetail: $island8,
    TaskTable: $island9,
    TypeControls: $island10,
    WorkerGrid: $island11,
  },
};

export default manifest;
