import TaskTypes from "../islands/TaskTypes.tsx";
import type { DashboardState } from "../server/dashboard_state.ts";
import { taskTypeViews } from "../server/task_type_json.ts";
import type { TaskTypeView } from "../components/types.ts";
import type { PageProps, PageResult, RouteContext } from "../server/ui/mod.ts";

/** Data of the task types page. */
export interface TypesData {
  taskTypes: TaskTypeView[];
}

/** Loads every type with its controls and figures. */
export async function handler(ctx: RouteContext<DashboardState>): Promise<PageResult<TypesData>> {
  return { title: "Task types", data: { taskTypes: await taskTypeViews(ctx.state.engine) } };
}

/** Each task type: its tasks, last hour's figures, isolation, and its pause and limits. */
export default function Types({ data }: PageProps<TypesData>) {
  return (
    <>
      <div class="page-head">
        <h1>Task types</h1>
        <p class="muted">
          Run time and failures cover the last hour on this node; counts cover the whole store.
        </p>
      </div>
      <TaskTypes taskTypes={data.taskTypes} />
    </>
  );
}
