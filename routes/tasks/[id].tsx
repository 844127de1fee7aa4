import TaskDetail from "../../islands/TaskDetail.tsx";
import type { Task } from "../../components/types.ts";
import type { DashboardState } from "../../server/dashboard_state.ts";
import type { PageProps, PageResult, RouteContext } from "../../server/ui/mod.ts";

/** Most children the page lists. */
const CHILD_LIMIT = 50;

/** Data of the task page: the task and its relatives, or the id nobody has. */
export interface TaskPageData {
  id: string;
  task: Task | null;
  parents: Task[];
  children: Task[];
}

/** Loads one task; a 404 page for an unknown id. */
export async function handler(
  ctx: RouteContext<DashboardState>,
): Promise<PageResult<TaskPageData>> {
  const id = ctx.params.id;
  const { engine } = ctx.state;
  const task = (await engine.get(id)) ?? null;
  if (!task) {
    return {
      title: "Task not found",
      status: 404,
      data: { id, task: null, parents: [], children: [] },
    };
  }
  const [parents, children] = await Promise.all([
    Promise.all((task.dependsOn ?? []).map((parent) => engine.get(parent))),
    engine.dependents(id, { limit: CHILD_LIMIT }),
  ]);
  return {
    title: `Task ${id.slice(-12)}`,
    data: {
      id,
      task,
      parents: parents.filter((parent): parent is Task => parent !== undefined),
      children,
    },
  };
}

/** One task, with live progress and its actions. */
export default function TaskPage({ data }: PageProps<TaskPageData>) {
  if (!data.task) {
    return (
      <>
        <div class="page-head">
          <h1>Task not found</h1>
        </div>
        <section class="panel">
          <p>
            No task has the id <span class="mono">{data.id}</span>. It may have been pruned.{" "}
            <a href="/tasks">See all tasks</a>.
          </p>
        </section>
      </>
    );
  }
  return (
    <>
      <div class="page-head">
        <h1>
          Task <span class="mono break">{data.task.id}</span>
        </h1>
        <p class="muted">
          <a href="/tasks">← All tasks</a>
        </p>
      </div>
      <section class="panel" aria-label="Task">
        <TaskDetail
          task={data.task}
          parents={data.parents}
          dependents={data.children}
          childLimit={CHILD_LIMIT}
        />
      </section>
    </>
  );
}
