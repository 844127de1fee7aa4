import TypeControls from "../islands/TypeControls.tsx";
import { TypeFigures } from "../components/TypeFigures.tsx";
import { formatTime } from "../components/format.ts";
import type { DashboardState } from "../server/dashboard_state.ts";
import { taskTypeViews } from "../server/task_type_json.ts";
import type { TaskTypeView } from "../components/types.ts";
import type { PageProps, PageResult, RouteContext } from "../server/ui/mod.ts";

/** Data of the task types page. */
export interface TypesData {
  taskTypes: TaskTypeView[];
  /** When the figures were read, ms since epoch. */
  at: number;
}

/** Loads every type with its controls and figures. */
export async function handler(ctx: RouteContext<DashboardState>): Promise<PageResult<TypesData>> {
  const taskTypes = await taskTypeViews(ctx.state.engine);
  return { title: "Task types", data: { taskTypes, at: Date.now() } };
}

/**
 * Each task type: its tasks and last hour's figures as read for this page,
 * isolation, and its pause and limits (live).
 */
export default function Types({ data, url }: PageProps<TypesData>) {
  return (
    <>
      <div class="page-head">
        <h1>Task types</h1>
        <p class="muted">
          Figures as of {formatTime(data.at)}{" "}
          UTC (<a href={url.pathname}>refresh</a>): counts cover the store, run time and failures
          the last hour on this node.
        </p>
      </div>
      <ul class="type-cards">
        {data.taskTypes.map((type) => (
          <li class="type-card" key={type.name} data-type={type.name}>
            <div class="type-head">
              <h2>{type.name}</h2>
              <span class="muted type-source">
                {type.builtin ? "built-in" : "tasks folder"} ·{" "}
                <span class="mono break">{type.source.split("/").pop()}</span>
              </span>
            </div>
            <TypeFigures type={type} />
            <TypeControls
              control={{
                type: type.name,
                paused: type.paused,
                limits: type.limits,
                moduleLimits: type.moduleLimits,
                limitsSet: type.limitsSet,
              }}
            />
          </li>
        ))}
      </ul>
    </>
  );
}
