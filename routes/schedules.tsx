import ScheduleBoard from "../islands/ScheduleBoard.tsx";
import { typeSummaries } from "../server/dashboard_state.ts";
import type { DashboardState } from "../server/dashboard_state.ts";
import type { Schedule, TaskTypeSummary } from "../components/types.ts";
import type { PageProps, PageResult, RouteContext } from "../server/ui/mod.ts";

/** Data of the schedules page. */
export interface SchedulesData {
  schedules: Schedule[];
  types: TaskTypeSummary[];
}

/** Loads every schedule with its next ticks, and the task types a new one may submit. */
export async function handler(
  ctx: RouteContext<DashboardState>,
): Promise<PageResult<SchedulesData>> {
  return {
    title: "Schedules",
    data: {
      schedules: await ctx.state.engine.schedules.list(),
      types: typeSummaries(ctx.state.engine.taskTypes()),
    },
  };
}

/** Schedules: the table (rendered with data, live once hydrated) and the create form. */
export default function Schedules({ data }: PageProps<SchedulesData>) {
  return (
    <>
      <div class="page-head">
        <h1>Schedules</h1>
        <p class="muted">
          Tasks submitted on a cron pattern or an interval, once per tick across every node.
        </p>
      </div>
      <ScheduleBoard schedules={data.schedules} types={data.types} />
    </>
  );
}
