/**
 * Every island, registered under its file name. `tests/ui/islands_test.ts`
 * checks this list against the files in `islands/`, and `scripts/build.ts`
 * bundles the same files.
 *
 * @module
 */

import ConnectionStatus from "../../islands/ConnectionStatus.tsx";
import LiveCounters from "../../islands/LiveCounters.tsx";
import QueueDepth from "../../islands/QueueDepth.tsx";
import RecentTasks from "../../islands/RecentTasks.tsx";
import SubmitPanel from "../../islands/SubmitPanel.tsx";
import TaskDetail from "../../islands/TaskDetail.tsx";
import TaskTable from "../../islands/TaskTable.tsx";
import ThroughputChart from "../../islands/ThroughputChart.tsx";
import WorkerGrid from "../../islands/WorkerGrid.tsx";
import { registerIsland } from "./islands.ts";

/** Island names, as in `islands/<Name>.tsx`. */
export const ISLAND_NAMES = [
  "ConnectionStatus",
  "LiveCounters",
  "QueueDepth",
  "RecentTasks",
  "SubmitPanel",
  "TaskDetail",
  "TaskTable",
  "ThroughputChart",
  "WorkerGrid",
] as const;

registerIsland("ConnectionStatus", ConnectionStatus);
registerIsland("LiveCounters", LiveCounters);
registerIsland("QueueDepth", QueueDepth);
registerIsland("RecentTasks", RecentTasks);
registerIsland("SubmitPanel", SubmitPanel);
registerIsland("TaskDetail", TaskDetail);
registerIsland("TaskTable", TaskTable);
registerIsland("ThroughputChart", ThroughputChart);
registerIsland("WorkerGrid", WorkerGrid);
