// This file is written by `deno task build` (scripts/build.ts): do not edit it.
// It hands the dashboard framework (server/ui/) every route and island of the app.

import type { UiManifest } from "./server/ui/mod.ts";
import type { DashboardState } from "./server/dashboard_state.ts";
import $app from "./routes/_app.tsx";
import $error from "./routes/_error.tsx";
import * as $route0 from "./routes/index.tsx";
import * as $route1 from "./routes/tasks/[id].tsx";
import * as $route2 from "./routes/tasks/index.tsx";
import $island0 from "./islands/ConnectionStatus.tsx";
import $island1 from "./islands/LiveCounters.tsx";
import $island2 from "./islands/QueueDepth.tsx";
import $island3 from "./islands/RecentTasks.tsx";
import $island4 from "./islands/SubmitPanel.tsx";
import $island5 from "./islands/TaskDetail.tsx";
import $island6 from "./islands/TaskTable.tsx";
import $island7 from "./islands/ThroughputChart.tsx";
import $island8 from "./islands/WorkerGrid.tsx";

const manifest: UiManifest<DashboardState> = {
  baseUrl: new URL("./", import.meta.url),
  app: $app,
  error: $error,
  routes: {
    "index.tsx": $route0,
    "tasks/[id].tsx": $route1,
    "tasks/index.tsx": $route2,
  },
  islands: {
    ConnectionStatus: $island0,
    LiveCounters: $island1,
    QueueDepth: $island2,
    RecentTasks: $island3,
    SubmitPanel: $island4,
    TaskDetail: $island5,
    TaskTable: $island6,
    ThroughputChart: $island7,
    WorkerGrid: $island8,
  },
};

export default manifest;
